//! The bcc classic tools rebuilt on CO-RE. Their BPF C lives in `bpf/`.

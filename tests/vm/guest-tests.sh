# The guest part of the suite, run by guest-init.sh inside the Debian 6.1 guest.
# One line per check:
#   t NAME COMMAND [ARGS...]          passes when COMMAND exits 0; stdout size and sha256 are
#                                     reported for the host to compare
#   tfail NAME TEXT COMMAND [ARGS...] passes when COMMAND fails and its stderr contains TEXT
#   send NAME PATH                    copies PATH out to the host (compared there)
# /objects: the host's compiled test objects (NAME.v3.o, NAME.v4.o); /vm/bpf: tests/vm/bpf.

send vmlinux.btf /sys/kernel/btf/vmlinux
t btf-dump-raw corebpf btf dump /sys/kernel/btf/vmlinux --format raw
t btf-find-task-struct corebpf btf find task_struct
t btf-dump-c corebpf btf dump --format c

# BPF trampolines: refused by the build host's policy, allowed by this kernel.
t load-trampoline corebpf load /vm/bpf/trampoline.o
t run-trampoline sh /vm/guest-trampoline.sh
# struct_ops: a BPF TCP congestion control registered by corebpf run and used over loopback;
# a local struct in another member order placed by name in 6.1's tcp_congestion_ops; no
# struct_ops links (.struct_ops.link) before 6.4.
t run-struct-ops sh /vm/guest-struct-ops.sh
t load-struct-ops-layout corebpf load /vm/bpf/struct_ops_layout.o
tfail load-struct-ops-link "need Linux 6.4 or later" corebpf load /vm/bpf/struct_ops_link.o
# Programs attached to a function of a loaded BPF program: freplace, fentry/fexit.
t run-freplace sh /vm/guest-freplace.sh
tfail load-freplace-no-target "needs a target program" corebpf load /vm/bpf/freplace.o
# kprobes, kretprobes (one at an offset), ksyscall/kretsyscall; no kprobe_multi without fprobe.
t run-kprobe sh /vm/guest-kprobe.sh
tfail run-kprobe-multi "need Linux 5.18 or later built with CONFIG_FPROBE" corebpf run /vm/bpf/kprobe_multi.o -- true
tfail run-kprobe-session "kprobe session links: they need Linux 6.10 or later" corebpf run /vm/bpf/kprobe_multi.o -- true
tfail kprobe-no-function "the kernel has no function corebpf_no_such_function" corebpf run /vm/bpf/kprobe_errors.o -- true
tfail kprobe-mid-instruction "offset 0x1 is not at an instruction boundary of do_unlinkat" corebpf run /vm/bpf/kprobe_errors.o -- true
tfail kretprobe-offset "kretprobe do_unlinkat+5: a kretprobe cannot have an offset" corebpf run /vm/bpf/kprobe_errors.o -- true
tfail ksyscall-no-syscall "the kernel has no function __x64_sys_corebpf_no_such_syscall or sys_corebpf_no_such_syscall" corebpf run /vm/bpf/kprobe_errors.o -- true

# The host's test objects, CO-RE relocated against 6.1 (cpu v4 needs 6.6, so v3 here).
t load-bashreadline.v3 corebpf load /objects/bashreadline.v3.o
t load-core_fields.v3 corebpf load /objects/core_fields.v3.o
t load-execsnoop.v3 corebpf load /objects/execsnoop.v3.o
t load-globals.v3 corebpf load /objects/globals.v3.o
t load-iter_task.v3 corebpf load /objects/iter_task.v3.o
t load-legacy_maps.v3 corebpf load /objects/legacy_maps.v3.o
t load-maps.v3 corebpf load /objects/maps.v3.o
t load-opensnoop.v3 corebpf load /objects/opensnoop.v3.o
t load-runqlat.v3 corebpf load /objects/runqlat.v3.o
t load-subprogs.v3 corebpf load /objects/subprogs.v3.o
t load-tc_cgroup.v3 corebpf load /objects/tc_cgroup.v3.o
t load-xdp_redirect.v3 corebpf load /objects/xdp_redirect.v3.o
# Their cpu v4 builds that use v4 instructions are refused by 6.1, with the way out named.
tfail load-globals.v4 "compile with -mcpu=v3" corebpf load /objects/globals.v4.o
tfail load-subprogs.v4 "compile with -mcpu=v3" corebpf load /objects/subprogs.v4.o
tfail load-tc_cgroup.v4 "compile with -mcpu=v3" corebpf load /objects/tc_cgroup.v4.o
# What 6.1 lacks is refused with the reason named: no sleepable fentry on syscalls without
# CONFIG_FUNCTION_ERROR_INJECTION, no bpf_task_acquire kfunc before 6.2.
tfail load-fentry.v3 "__x64_sys_getpgid is not sleepable" corebpf load /objects/fentry.v3.o
tfail load-kconfig_ksym.v3 "bpf_task_acquire (kfunc): kernel function not found in the kernel's BTF (added in Linux 6.2)" corebpf load --kconfig "/boot/config-$(uname -r)" /objects/kconfig_ksym.v3.o

for o in /objects/*.o; do
	[ -e "$o" ] || continue
	t "objdump-$(basename "$o" .o)" corebpf objdump "$o"
done

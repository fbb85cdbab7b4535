/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * corebpf/bpf.h — everything a corebpf BPF program needs, in one include:
 *
 *     #include "vmlinux.h"
 *     #include <corebpf/bpf.h>
 *
 * `corebpf::compile` generates vmlinux.h from the running kernel's BTF and puts both on the
 * include path.
 */
#ifndef COREBPF_BPF_H
#define COREBPF_BPF_H

#include "defs.h"
#include "helpers.h"
#include "core_read.h"
#include "tracing.h"
#include "corebpf.h"

#endif /* COREBPF_BPF_H */

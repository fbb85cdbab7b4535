// SPDX-License-Identifier: GPL-2.0
/* The congestion control of struct_ops_cc.bpf.c declared in .struct_ops.link: registered
 * through a BPF link (Linux 6.4 and later), under the name "corebpf_renol". */
#define COREBPF_STRUCT_OPS_LINK
#include "struct_ops_cc.bpf.c"

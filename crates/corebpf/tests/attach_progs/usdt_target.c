#include <stdio.h>
#include <stdlib.h>
__attribute__((section(".probes"))) volatile unsigned short cb_sema = 0;
#define CB_PROBE() __asm__ volatile( \
  "990: nop\n" \
  ".pushsection .note.stapsdt,\"\",\"note\"\n" \
  ".balign 4\n" \
  ".4byte 992f-991f, 994f-993f, 3\n" \
  "991: .asciz \"stapsdt\"\n" \
  "992: .balign 4\n" \
  "993: .8byte 990b\n" \
  ".8byte _.stapsdt.base\n" \
  ".8byte cb_sema\n" \
  ".asciz \"corebpf\"\n" \
  ".asciz \"tick\"\n" \
  ".asciz \"-4@$-7 8@%%rdi 4@-12(%%rbp)\"\n" \
  "994: .balign 4\n" \
  ".popsection\n" \
  ".ifndef _.stapsdt.base\n" \
  ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
  ".weak _.stapsdt.base\n" \
  ".hidden _.stapsdt.base\n" \
  "_.stapsdt.base: .space 1\n" \
  ".size _.stapsdt.base, 1\n" \
  ".popsection\n" \
  ".endif\n" ::: "memory")
int main(int argc, char **argv) {
  int n = atoi(argv[1]), fired = 0;
  for (int i = 0; i < n; i++) if (cb_sema) { fired++; CB_PROBE(); }
  printf("%d\n", fired);
  return 0;
}

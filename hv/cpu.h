/* The hv's own descriptor tables: GDT with a 64-bit TSS (IST stacks for
 * #DF, NMI and #MC) and an IDT where every exception dumps state and halts. */
#ifndef HV_CPU_H
#define HV_CPU_H

#include "lib.h"

#define HV_CS   0x08
#define HV_DS   0x10
#define HV_TSS  0x18

struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

void cpu_init(void);
uint64_t cpu_gdt_base(void);
uint64_t cpu_idt_base(void);
uint64_t cpu_tss_base(void);
void trap_handler(struct trap_frame *f);

#endif

/*
 * vmlaunchfuzz: what its parts share (see main.c).
 */
#ifndef LF_H
#define LF_H

#include "../vmx_l2/l1.h"

#define L2FN __attribute__((noinline, noclone, used))

extern unsigned maxphy;         /* CPUID.80000008H:EAX[7:0] */
extern bool bare;               /* no hypervisor bit: booted on the emulator's own VT-x */

/* Counts mismatches; prints the first few with "MISMATCH". */
void mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern unsigned mismatches;

void fuzz_launch(void);         /* fuzz.c */
void t_eptout(void);            /* ept.c */
void t_eptedit(void);
void t_ptrs_vmxon(void);        /* ptrs.c: before VMXON */
void t_ptrs(void);              /* ptrs.c: in VMX operation */

#endif

/* Does L1 want this L2 exit?  The SDM's rules for which instructions and
 * events cause VM exits in VMX non-root operation (Vol. 3 chapter 26,
 * "VMX Non-Root Operation", 26.1-26.2), applied to the controls L1 wrote
 * in vmcs12.  vmcs02 exits whenever vmcs12 or L0 asks; this decides whose
 * exit it is.  Pure; unit-tested. */
#ifndef NESTED_EXIT_REFLECT_H
#define NESTED_EXIT_REFLECT_H

#include "lib.h"

/* What the exit from vmcs02 says, plus the L2 registers the rules need. */
struct l2_exit {
    uint32_t reason;                /* basic exit reason */
    uint64_t qual;                  /* exit qualification */
    uint32_t intr_info;             /* VM-exit interruption information */
    uint32_t intr_error;            /* VM-exit interruption error code */
    uint64_t rcx;                   /* MSR index for RDMSR/WRMSR */
    uint64_t cr_source;             /* MOV to CR: the source register's value */
};

/* Reads L1 guest-physical memory (the I/O and MSR bitmaps); 0 or -1. */
struct l1_reader {
    int (*read)(void *ctx, uint64_t gpa, void *buf, uint64_t len);
    void *ctx;
};

enum reflect { REFLECT_L0, REFLECT_L1 };

/* The decision for every exit reason except the ones L0 decides with
 * state of its own (EPT violation/misconfiguration: the EPT12 walk;
 * VMX-preemption timer: whose timer ran out; external interrupts: L0's).
 * An unknown reason is L1's: an exit L0 did not ask for can only be L1's. */
enum reflect nested_exit_owner(const struct l2_exit *e, const uint8_t *vmcs12,
                               const struct l1_reader *rd);

/* The exits no vmcs12 control governs (SDM 26.1.2: CPUID, GETSEC, INVD,
 * XSETBV, VMCALL and the VMX instructions; task switches, triple faults;
 * VMFUNC of a function L1 is never offered): nested_exit_owner says L1
 * for them whatever vmcs12 holds, and the L2 exit path reflects them
 * without reading the exit's details (VMREAD/VMWRITE after
 * nested_vmcs_field_exits said so). */
static inline bool nested_exit_always_l1(unsigned reason)
{
    switch (reason) {
    case 2: case 9: case 10: case 11: case 13:         /* triple fault, task switch, CPUID, GETSEC, INVD */
    case 18: case 19: case 20: case 21: case 22:        /* VMCALL, VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST */
    case 23: case 24: case 25: case 26: case 27:        /* VMREAD, VMRESUME, VMWRITE, VMXOFF, VMXON */
    case 50: case 53: case 55: case 59:                 /* INVEPT, INVVPID, XSETBV, VMFUNC */
        return true;
    default:
        return false;
    }
}

/* The rules, one per exit kind, exposed for unit tests. */
/* L2's VMREAD (write: VMWRITE) of encoding `enc` (the register operand,
 * 32 bits outside 64-bit mode) exits to L1 unless vmcs12 enables VMCS
 * shadowing, enc has bits 63:15 clear and its bit in the VMREAD (VMWRITE)
 * bitmap is 0 (SDM 26.1.3); then it reaches the shadow VMCS. */
bool nested_vmcs_field_exits(const uint8_t *vmcs12, uint64_t enc, bool write,
                             const struct l1_reader *rd);
bool nested_io_exits(const uint8_t *vmcs12, uint16_t port, unsigned size,
                     const struct l1_reader *rd);
bool nested_msr_exits(const uint8_t *vmcs12, uint32_t msr, bool write,
                      const struct l1_reader *rd);
bool nested_cr_exits(const uint8_t *vmcs12, uint64_t qual, uint64_t source);
bool nested_exception_exits(const uint8_t *vmcs12, uint32_t intr_info, uint32_t error);

#endif

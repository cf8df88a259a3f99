/* VMX instruction wrappers and the hv's VMX capabilities. */
#ifndef HV_VMX_H
#define HV_VMX_H

#include "lib.h"
#include "vmcs_fields.h"

/* What bring-up found: the controls every vCPU's VMCS starts from. */
struct vmx_caps {
    uint32_t revision;
    uint32_t pin, proc, proc2, exit, entry;     /* chosen controls */
    uint64_t ept_vpid;                          /* IA32_VMX_EPT_VPID_CAP */
    uint64_t misc;                              /* IA32_VMX_MISC */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    unsigned preemption_shift;                  /* timer ticks = TSC >> shift */
    bool has_pml, has_spp, has_ept_ad, has_vmcs_shadowing;
};

extern struct vmx_caps vmx_caps;

/* Checks every requirement, enables VMX operation (VMXON).  On a missing
 * requirement: prints one line naming it and powers off with
 * NESTOR_EXIT_NO_VMX. */
void vmx_init(void);

/* Adjusts `want` to a control MSR: returns the value to program, or sets
 * *missing to the wanted bits the CPU cannot set.  Pure; unit-tested. */
uint32_t vmx_adjust_controls(uint32_t want, uint64_t cap_msr, uint32_t *missing);

/* VM-instruction error numbers (SDM 31.4) */
const char *vmx_instr_error_name(uint32_t err);

static inline int vmclear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail;
}

static inline int vmptrld(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return fail;
}

/* The current-VMCS pointer (for the rare paths that can run with either
 * of an L1's VMCSs current). */
static inline uint64_t vmptrst(void)
{
    uint64_t pa;
    __asm__ volatile("vmptrst %0" : "=m"(pa) :: "memory");
    return pa;
}

static inline uint64_t vmread(uint64_t field)
{
    uint64_t v;
    __asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
    return v;
}

/* VMREAD straight into memory (one instruction less than through a
 * register, for the field copies on the nested hot paths). */
static inline void vmread_to(uint64_t field, uint64_t *dst)
{
    __asm__ volatile("vmread %1, %0" : "=m"(*dst) : "r"(field) : "cc");
}

static inline void vmwrite(uint64_t field, uint64_t v)
{
    __asm__ volatile("vmwrite %1, %0" : : "r"(field), "rm"(v) : "cc");
}

/* Same, reporting VMfail (used where a bad value is possible). */
static inline int vmwrite_checked(uint64_t field, uint64_t v)
{
    uint8_t fail;
    __asm__ volatile("vmwrite %2, %1; setbe %0" : "=qm"(fail) : "r"(field), "rm"(v) : "cc");
    return fail;
}

struct invept_desc { uint64_t eptp, rsvd; };
struct invvpid_desc { uint64_t vpid, gla; };

static inline void invept(uint64_t type, uint64_t eptp)
{
    struct invept_desc d = { eptp, 0 };
    __asm__ volatile("invept %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

static inline void invvpid(uint64_t type, uint16_t vpid)
{
    struct invvpid_desc d = { vpid, 0 };
    __asm__ volatile("invvpid %0, %1" : : "m"(d), "r"(type) : "cc", "memory");
}

#define INVEPT_SINGLE_CONTEXT  1
#define INVEPT_ALL_CONTEXT     2
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXT    2

#endif

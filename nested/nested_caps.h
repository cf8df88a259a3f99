/* The VMX capability MSRs an L1 hypervisor sees: what the physical CPU
 * offers, minus what nested/ does not emulate.  docs/NESTED.md ("Capabilities
 * L1 sees") explains each choice.  Pure; unit-tested. */
#ifndef NESTED_CAPS_H
#define NESTED_CAPS_H

#include "lib.h"

#define MSR_VMX_BASIC           0x480
#define MSR_VMX_PINBASED        0x481
#define MSR_VMX_PROCBASED       0x482
#define MSR_VMX_EXIT            0x483
#define MSR_VMX_ENTRY           0x484
#define MSR_VMX_MISC            0x485
#define MSR_VMX_CR0_FIXED0      0x486
#define MSR_VMX_CR0_FIXED1      0x487
#define MSR_VMX_CR4_FIXED0      0x488
#define MSR_VMX_CR4_FIXED1      0x489
#define MSR_VMX_VMCS_ENUM       0x48a
#define MSR_VMX_PROCBASED2      0x48b
#define MSR_VMX_EPT_VPID_CAP    0x48c
#define MSR_VMX_TRUE_PINBASED   0x48d
#define MSR_VMX_TRUE_PROCBASED  0x48e
#define MSR_VMX_TRUE_EXIT       0x48f
#define MSR_VMX_TRUE_ENTRY      0x490
#define MSR_VMX_VMFUNC          0x491
#define MSR_VMX_FIRST           MSR_VMX_BASIC
#define MSR_VMX_LAST            0x493       /* PROCBASED3 0x492, EXIT2 0x493 */

/* What L1 may use, per control (a bit here and in the physical allowed-1
 * is offered).  The rest is not emulated by nested/. */
#define NESTED_PIN_OK    (BIT(0) /* external-interrupt exiting */ | BIT(3) /* NMI exiting */ | \
                          BIT(5) /* virtual NMIs */ | BIT(6) /* VMX-preemption timer */)
#define NESTED_PROC_OK   (BIT(2) /* interrupt-window */ | BIT(3) /* TSC offsetting */ | \
                          BIT(7) /* HLT */ | BIT(9) /* INVLPG */ | BIT(10) /* MWAIT */ | \
                          BIT(11) /* RDPMC */ | BIT(12) /* RDTSC */ | BIT(15) /* CR3 load */ | \
                          BIT(16) /* CR3 store */ | BIT(19) /* CR8 load */ | BIT(20) /* CR8 store */ | \
                          BIT(22) /* NMI-window */ | BIT(23) /* MOV DR */ | \
                          BIT(24) /* unconditional I/O */ | BIT(25) /* I/O bitmaps */ | \
                          BIT(27) /* monitor trap flag */ | BIT(28) /* MSR bitmaps */ | \
                          BIT(29) /* MONITOR */ | BIT(30) /* PAUSE */ | BIT(31) /* secondary */)
/* Primary controls L1 must set (allowed-0 = 1).  RDPMC exiting: Nestor
 * offers no performance counters (CPUID.0AH = 0), so an L2 RDPMC has
 * nothing to read; L1 gets every one to emulate as it likes, rather than
 * have its guest take a #GP it did not choose. */
#define NESTED_PROC_MUST1 BIT(11)
#define NESTED_PROC2_OK  (BIT(1) /* EPT */ | BIT(2) /* descriptor-table exiting */ | \
                          BIT(3) /* RDTSCP */ | BIT(5) /* VPID */ | BIT(6) /* WBINVD exiting */ | \
                          BIT(7) /* unrestricted guest */ | BIT(10) /* PAUSE-loop exiting */ | \
                          BIT(11) /* RDRAND exiting */ | BIT(12) /* INVPCID */ | \
                          BIT(13) /* VM functions (none offered) */ | BIT(14) /* VMCS shadowing */ | \
                          BIT(16) /* RDSEED exiting */ | BIT(17) /* PML */)
#define NESTED_EXIT_OK   (BIT(2) /* save debug controls */ | BIT(9) /* host address-space size */ | \
                          BIT(15) /* acknowledge interrupt on exit */ | BIT(18) /* save PAT */ | \
                          BIT(19) /* load PAT */ | BIT(20) /* save EFER */ | BIT(21) /* load EFER */ | \
                          BIT(22) /* save preemption timer */)
#define NESTED_ENTRY_OK  (BIT(2) /* load debug controls */ | BIT(9) /* IA-32e mode guest */ | \
                          BIT(14) /* load PAT */ | BIT(15) /* load EFER */)
/* IA32_VMX_EPT_VPID_CAP */
#define NESTED_EPT_VPID_OK (BIT(0) /* execute-only */ | BIT(6) /* 4-level walk */ | BIT(8) /* UC */ | \
                            BIT(14) /* WB */ | BIT(16) /* 2 MiB */ | BIT(17) /* 1 GiB */ | \
                            BIT(20) /* INVEPT */ | BIT(21) /* A/D flags */ | \
                            BIT(25) /* INVEPT single-context */ | BIT(26) /* INVEPT all-context */ | \
                            BIT(32) /* INVVPID */ | BIT(40) /* individual-address */ | \
                            BIT(41) /* single-context */ | BIT(42) /* all-context */ | \
                            BIT(43) /* single-context retaining globals */)
/* IA32_VMX_MISC: timer rate (4:0), LMA stored on exit (5), HLT activity
 * state (6), CR3-target count (24:16), MSR-list size (27:25), software
 * injection with length 0 (30).  Bit 29 (VMWRITE to exit-information
 * fields) is set by Nestor, not taken from the CPU. */
#define NESTED_MISC_OK    (0x3full | BIT(6) | (0x1ffull << 16) | (7ull << 25) | BIT(30))
#define MISC_VMWRITE_ANY  BIT(29)

#define BASIC_INS_OUTS_INFO BIT(54)
#define BASIC_TRUE_CTLS     BIT(55)
#define BASIC_WB            (6ull << 50)

/* The physical CPU's VMX MSRs (0 where the MSR does not exist), and the
 * CR4 bits Nestor lets any guest set. */
struct nested_phys {
    uint64_t basic, pin, proc, exit, entry, misc;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t proc2, ept_vpid, true_pin, true_proc, true_exit, true_entry, vmfunc;
    uint64_t cr4_guest_bits;
    unsigned maxphyaddr;        /* CPUID.80000008:EAX[7:0] */
};

/* What L1 reads, indexed by MSR - MSR_VMX_FIRST; `present` says which
 * exist (the others raise #GP). */
struct nested_caps {
    uint64_t msr[MSR_VMX_LAST - MSR_VMX_FIRST + 1];
    uint32_t present;           /* bit i: MSR_VMX_FIRST + i exists */
    unsigned fields;            /* VMCS12_F_*: the vmcs12 fields that exist */
    unsigned maxphyaddr;
    bool vmwrite_any;           /* IA32_VMX_MISC[29] */
};

void nested_caps_compute(const struct nested_phys *p, struct nested_caps *c);
/* RDMSR of a VMX capability MSR: true with *val, false for #GP (an MSR
 * outside the range or one that does not exist for L1). */
bool nested_caps_rdmsr(const struct nested_caps *c, uint32_t msr, uint64_t *val);

static inline uint64_t nested_cap(const struct nested_caps *c, uint32_t msr)
{
    return c->msr[msr - MSR_VMX_FIRST];
}
/* Allowed-1 settings of a control MSR (its high half). */
static inline uint32_t nested_allowed1(const struct nested_caps *c, uint32_t msr)
{
    return (uint32_t)(nested_cap(c, msr) >> 32);
}

/* Would VM entry with "enable EPT" accept this EPTP (SDM 27.2.1.1)?  The
 * test INVEPT single-context applies to its operand. */
bool nested_eptp_valid(const struct nested_caps *c, uint64_t eptp);
/* INVEPT / INVVPID types L1 may use. */
bool nested_invept_type_ok(const struct nested_caps *c, uint64_t type);
bool nested_invvpid_type_ok(const struct nested_caps *c, uint64_t type);
/* A physical address L1 may name for a VMXON region or a VMCS: 4 KiB
 * aligned and no bit set at or above the physical-address width. */
bool nested_vmcs_addr_ok(const struct nested_caps *c, uint64_t pa);

#endif

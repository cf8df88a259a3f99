/* What guests see in CPUID: the host's values minus what Nestor does not
 * virtualize, plus Nestor's own leaves.  Pure; unit-tested. */
#ifndef HV_CPUID_POLICY_H
#define HV_CPUID_POLICY_H

#include "lib.h"

struct cpuid_ctx {
    unsigned vcpu_id;
    unsigned domid;
    uint32_t dom_flags;
    bool rdtscp, invpcid;       /* the VMX controls that make them work */
    bool nested;                /* nested VMX: VMX stays visible (if the host has it) */
    bool apic;                  /* IA32_APIC_BASE.EN: CPUID.1:EDX.APIC follows it */
};

/* r[] = {eax, ebx, ecx, edx}: the host's values on entry (for leaves
 * outside the hypervisor range), the guest's on return. */
void cpuid_policy(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* Bits removed (documented in docs/ABI.md). */
#define CPUID1_ECX_HIDDEN  (BIT(3) /* MONITOR */ | BIT(5) /* VMX */ | BIT(6) /* SMX */ | \
                            BIT(7) /* EIST */ | BIT(8) /* TM2 */ | BIT(15) /* PDCM */ | \
                            BIT(18) /* DCA */ | BIT(21) /* x2APIC */ | BIT(24) /* TSC deadline */ | \
                            BIT(26) /* XSAVE */ | BIT(27) /* OSXSAVE */ | BIT(28) /* AVX */ | \
                            BIT(12) /* FMA */ | BIT(29) /* F16C */)
#define CPUID1_ECX_HV      BIT(31)
#define CPUID1_ECX_VMX     BIT(5)
#define CPUID1_EDX_APIC    BIT(9)
#define CPUID1_EDX_HIDDEN  (BIT(21) /* DS */ | BIT(22) /* ACPI */ | \
                            BIT(29) /* TM */ | BIT(31) /* PBE */ | BIT(28) /* HTT */)
#define CPUID7_EBX_HIDDEN  (BIT(2) /* SGX */ | BIT(4) /* HLE */ | BIT(5) /* AVX2 */ | \
                            BIT(11) /* RTM */ | BIT(14) /* MPX */ | BIT(16) /* AVX512F */ | \
                            BIT(17) | BIT(21) | BIT(25) /* PT */ | BIT(26) | BIT(27) | \
                            BIT(28) | BIT(30) | BIT(31))
#define CPUID7_ECX_HIDDEN  (BIT(1) /* AVX512VBMI */ | BIT(5) /* WAITPKG */ | BIT(6) | \
                            BIT(8) /* GFNI */ | BIT(9) /* VAES */ | BIT(10) | BIT(11) | \
                            BIT(12) | BIT(14) | BIT(16) /* LA57 */ | BIT(30) /* SGX_LC */)
#define CPUID7_EDX_HIDDEN  (BIT(2) | BIT(3) | BIT(4) /* FSRM */ | BIT(8) | BIT(15) /* hybrid */ | \
                            BIT(18) /* PCONFIG */ | BIT(20) /* CET_IBT */ | BIT(23) | BIT(24))

#endif

/* Nested VMX: what hv/ calls.  A domain created with `nested=1` sees VT-x:
 * CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL, the VMX capability MSRs, CR4.VMXE
 * and every VMX instruction, emulated per the SDM on a vmcs12 in its own
 * memory (see docs/NESTED.md).  For other domains the hooks change nothing
 * and the VMX instructions raise #UD, as on a CPU without VMX. */
#ifndef NESTED_H
#define NESTED_H

#include "lib.h"
#include "vmcs12.h"

struct vcpu;

/* Per-vCPU state, embedded in struct vcpu.  All-zero is "never used VMX":
 * not in VMX operation, feature control unlocked. */
struct vcpu_nested {
    uint64_t feature_control;       /* virtual IA32_FEATURE_CONTROL */
    bool vmxon;                     /* in (emulated) VMX root operation */
    bool have_current;              /* the current-VMCS pointer is valid */
    uint64_t vmxon_ptr;             /* guest-physical */
    uint64_t current_ptr;           /* guest-physical, when have_current */
    /* The current vmcs12 (header and fields), cached by the hv: loaded
     * at VMPTRLD, written back to L1 memory at VMCLEAR, at VMPTRLD of
     * another VMCS and at VMXOFF. */
    uint8_t vmcs12[VMCS12_SIZE] __attribute__((aligned(8)));
};

/* Exit handlers for the VMX instructions (basic exit reasons 19-27, 50, 53). */
void nested_vmclear(struct vcpu *v);
void nested_vmlaunch(struct vcpu *v);
void nested_vmptrld(struct vcpu *v);
void nested_vmptrst(struct vcpu *v);
void nested_vmread(struct vcpu *v);
void nested_vmresume(struct vcpu *v);
void nested_vmwrite(struct vcpu *v);
void nested_vmxoff(struct vcpu *v);
void nested_vmxon(struct vcpu *v);
void nested_invept(struct vcpu *v);
void nested_invvpid(struct vcpu *v);

/* MSR hooks, called before the hv's own MSR emulation. */
enum nested_msr { NESTED_MSR_NOT_MINE, NESTED_MSR_OK, NESTED_MSR_GP };
enum nested_msr nested_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
enum nested_msr nested_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);

/* Control registers: may the guest write this CR0 / CR4 value (called on
 * exits for owned bits)?  CR4.VMXE may be set only by nested domains and
 * not cleared in VMX operation; CR0.PE, NE and PG not cleared in VMX
 * operation (SDM 24.8). */
bool nested_cr0_write_ok(struct vcpu *v, uint64_t cr0);
bool nested_cr4_write_ok(struct vcpu *v, uint64_t cr4);

/* Whether the domain of v has nested VMX (for CPUID). */
bool nested_enabled(const struct vcpu *v);

#endif

/* Nested VMX glue: the capability MSRs from the CPU, IA32_FEATURE_CONTROL,
 * and the CR0/CR4 rules of VMX operation. */
#include "nested_internal.h"
#include "domain.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

struct nested_caps nested_caps_cache;
bool nested_caps_ready;

const struct nested_caps *nested_caps_first(void)
{
    struct nested_phys p = {
        .basic = rdmsr(MSR_IA32_VMX_BASIC),
        .pin = rdmsr(MSR_IA32_VMX_PINBASED),
        .proc = rdmsr(MSR_IA32_VMX_PROCBASED),
        .exit = rdmsr(MSR_IA32_VMX_EXIT),
        .entry = rdmsr(MSR_IA32_VMX_ENTRY),
        .misc = rdmsr(MSR_IA32_VMX_MISC),
        .cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0),
        .cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1),
        .cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0),
        .cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1),
        .proc2 = rdmsr(MSR_IA32_VMX_PROCBASED2),     /* vmx_init required it */
        .ept_vpid = vmx_caps.ept_vpid,
        .true_pin = rdmsr(MSR_IA32_VMX_TRUE_PINBASED),
        .true_proc = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED),
        .true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT),
        .true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY),
        .cr4_guest_bits = HV_CR4_GUEST_BITS,
    };
    if ((p.proc2 >> 32) & PROC2_ENABLE_VMFUNC)
        p.vmfunc = rdmsr(MSR_IA32_VMX_VMFUNC);
    uint32_t a, b, c, d;
    cpuid_count(0x80000000, 0, &a, &b, &c, &d);
    if (a >= 0x80000008) {
        cpuid_count(0x80000008, 0, &a, &b, &c, &d);
        p.maxphyaddr = a & 0xff;
    }
    nested_caps_compute(&p, &nested_caps_cache);
    nested_caps_ready = true;
    return &nested_caps_cache;
}

bool nested_enabled(const struct vcpu *v)
{
    return v->dom->cfg.nested;
}

enum nested_msr nested_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    if (!nested_enabled(v))
        return NESTED_MSR_NOT_MINE;
    if (msr == MSR_IA32_FEATURE_CONTROL) {
        *val = v->nested.feature_control;
        return NESTED_MSR_OK;
    }
    if (msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST)
        return nested_caps_rdmsr(nested_caps_get(), msr, val) ? NESTED_MSR_OK : NESTED_MSR_GP;
    return NESTED_MSR_NOT_MINE;
}

enum nested_msr nested_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    if (!nested_enabled(v))
        return NESTED_MSR_NOT_MINE;
    if (msr == MSR_IA32_FEATURE_CONTROL) {
        /* Reset value 0, as firmware that leaves it unlocked.  Only the
         * lock and "VMX outside SMX" bits exist (no SMX, SGX, LMCE, ...);
         * once locked, every write faults (SDM Vol. 4, 2.1). */
        if ((v->nested.feature_control & FEATURE_CONTROL_LOCK) ||
            (val & ~(uint64_t)(FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX)))
            return NESTED_MSR_GP;
        v->nested.feature_control = val;
        return NESTED_MSR_OK;
    }
    if (msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST)
        return NESTED_MSR_GP;   /* capability MSRs are read-only */
    return NESTED_MSR_NOT_MINE;
}

bool nested_cr4_write_ok(struct vcpu *v, uint64_t cr4)
{
    if (!(cr4 & CR4_VMXE))
        return !v->nested.vmxon;
    return nested_enabled(v);
}

bool nested_cr0_write_ok(struct vcpu *v, uint64_t cr0)
{
    if (!v->nested.vmxon)
        return true;
    const struct nested_caps *c = nested_caps_get();
    uint64_t fixed0 = nested_cap(c, MSR_VMX_CR0_FIXED0), fixed1 = nested_cap(c, MSR_VMX_CR0_FIXED1);
    return (cr0 & fixed0) == fixed0 && !(cr0 & ~fixed1);
}

void nested_cr0_trap(struct vcpu *v, bool on)
{
    (void)v;
    /* Make the read shadow exact for the bits about to be trapped: writes
     * to bits outside the mask never updated it. */
    vmwrite(VMCS_CR0_READ_SHADOW, vmcs_guest_cr0());
    vmwrite(VMCS_CR0_GUEST_HOST_MASK, HV_CR0_OWNED | (on ? NESTED_CR0_VMX_TRAPPED : 0));
}

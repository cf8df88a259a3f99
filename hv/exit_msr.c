/* RDMSR/WRMSR exits.  MSRs the guest owns outright are passed through in
 * the bitmap (see domain.c); the rest are emulated here, and anything else
 * raises #GP(0) as on a CPU without that MSR. */
#include "exit.h"
#include "msr_rules.h"
#include "console.h"
#include "hypercall.h"
#include "nested.h"
#include "vcpu.h"
#include "vmx.h"
#include "x86.h"

#define MSR_IA32_PLATFORM_ID   0x017
#define EFER_WRITABLE          (EFER_SCE | EFER_LME | EFER_NXE)

static bool read_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_IA32_EFER:           *val = vmread(VMCS_GUEST_IA32_EFER); return true;
    case MSR_IA32_PAT:            *val = vmread(VMCS_GUEST_IA32_PAT); return true;
    case MSR_IA32_DEBUGCTL:       *val = vmread(VMCS_GUEST_IA32_DEBUGCTL); return true;
    case MSR_IA32_APIC_BASE:      *val = v->lapic.base_msr; return true;
    case MSR_IA32_TSC:            *val = rdtsc() + v->tsc_offset; return true;
    /* Locked, VMX off: the guest may not enable VMX. */
    case MSR_IA32_FEATURE_CONTROL: *val = FEATURE_CONTROL_LOCK; return true;
    /* Fast strings on, BTS and PEBS unavailable. */
    case MSR_IA32_MISC_ENABLE:    *val = BIT(0) | BIT(11) | BIT(12); return true;
    case MSR_IA32_PLATFORM_ID:
    case MSR_IA32_BIOS_SIGN_ID:
    case MSR_IA32_MTRRCAP:        /* no fixed or variable MTRRs */
    case MSR_IA32_MCG_CAP:
    case MSR_IA32_MCG_STATUS:     *val = 0; return true;
    case MSR_IA32_MTRR_DEF_TYPE:  *val = 0xc06; return true;   /* enabled, WB */
    default:                      return false;
    }
}

static bool write_efer(struct vcpu *v, uint64_t val)
{
    uint64_t old = vmread(VMCS_GUEST_IA32_EFER);
    if (val & ~(EFER_WRITABLE | EFER_LMA))
        return false;
    /* LME may not change while paging is on (SDM 2.2.1). */
    if ((vmread(VMCS_GUEST_CR0) & CR0_PG) && ((val ^ old) & EFER_LME))
        return false;
    vmwrite(VMCS_GUEST_IA32_EFER, (val & EFER_WRITABLE) | (old & EFER_LMA));
    return true;
}

/* CPUID.80000008H:EAX[7:0], which guests see unchanged. */
static unsigned maxphyaddr(void)
{
    static unsigned bits;
    if (!bits) {
        uint32_t a, b, c, d;
        cpuid_count(0x80000000, 0, &a, &b, &c, &d);
        bits = 36;
        if (a >= 0x80000008) {
            cpuid_count(0x80000008, 0, &a, &b, &c, &d);
            bits = a & 0xff;
        }
    }
    return bits;
}

/* Global enable/disable and relocation of the local APIC (lapic.h has the
 * rules); the EPT needs no change: the page is never mapped. */
static bool write_apic_base(struct vcpu *v, uint64_t val)
{
    if (!lapic_set_base(&v->lapic, val, maxphyaddr(), v->dom->mem_bytes))
        return false;
    vcpu_lapic_sync(v);
    return true;
}

static bool write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_IA32_EFER:
        return write_efer(v, val);
    case MSR_IA32_PAT:
        if (!pat_valid(val))
            return false;
        vmwrite(VMCS_GUEST_IA32_PAT, val);
        return true;
    case MSR_IA32_DEBUGCTL:
        /* LBR (bit 0) and BTF (bit 1) are architectural on every Intel 64
         * CPU (SDM 17.4.1): the guest's value lives in the VMCS, which the
         * CPU loads at VM entry and clears at VM exit, so the CPU itself
         * does branch single-stepping and recording for the guest.  Every
         * other bit (BTS, freeze, RTM, ...) belongs to features Nestor
         * does not offer.  nested/vmentry_check.h keeps the same set. */
        if (val & ~(uint64_t)(DEBUGCTL_LBR | DEBUGCTL_BTF))
            return false;
        vmwrite(VMCS_GUEST_IA32_DEBUGCTL, val);
        return true;
    case MSR_IA32_APIC_BASE:
        return write_apic_base(v, val);
    case MSR_IA32_TSC:
        vcpu_set_tsc(v, val);
        return true;
    case MSR_IA32_BIOS_SIGN_ID:
        return true;            /* microcode revision probe */
    case MSR_IA32_MTRR_DEF_TYPE:
        return val == 0xc06;
    case MSR_IA32_MCG_STATUS:
        return val == 0;
    case NESTOR_HYPERCALL_MSR:
        return hypercall_page_install(v, val) == 0;
    default:
        return false;
    }
}

bool hv_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    enum nested_msr nm = nested_rdmsr(v, msr, val);
    return nm == NESTED_MSR_OK || (nm == NESTED_MSR_NOT_MINE && read_msr(v, msr, val));
}

bool hv_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    enum nested_msr nm = nested_wrmsr(v, msr, val);
    return nm == NESTED_MSR_OK || (nm == NESTED_MSR_NOT_MINE && write_msr(v, msr, val));
}

void handle_rdmsr(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.gpr[R_CX];
    uint64_t val;
    if (!hv_msr_read(v, msr, &val)) {
        hv_debug("d%u: RDMSR %#x -> #GP", v->dom->id, msr);
        vcpu_inject_gp0(v);
        return;
    }
    v->regs.gpr[R_AX] = (uint32_t)val;
    v->regs.gpr[R_DX] = val >> 32;
    vcpu_skip_instruction(v);
}

void handle_wrmsr(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.gpr[R_CX];
    uint64_t val = (v->regs.gpr[R_DX] << 32) | (uint32_t)v->regs.gpr[R_AX];
    if (!hv_msr_write(v, msr, val)) {
        hv_debug("d%u: WRMSR %#x <- %#lx -> #GP", v->dom->id, msr, val);
        vcpu_inject_gp0(v);
        return;
    }
    vcpu_skip_instruction(v);
}

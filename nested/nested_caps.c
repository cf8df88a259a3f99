/* The VMX capability MSRs L1 sees.  Pure: from the physical values. */
#include "nested_caps.h"
#include "vmcs12.h"

#define IDX(msr) ((msr) - MSR_VMX_FIRST)

/* A control MSR: allowed-0 settings (bits that must be 1) are the CPU's;
 * allowed-1 settings are the CPU's restricted to what nested/ emulates,
 * never less than allowed-0 (so allowed-0 is always within allowed-1). */
static uint64_t control(uint64_t phys, uint32_t ok)
{
    uint32_t must1 = (uint32_t)phys;
    uint32_t may1 = ((uint32_t)(phys >> 32) & ok) | must1;
    return ((uint64_t)may1 << 32) | must1;
}

/* A true-control MSR: its own allowed-0 settings (which may clear
 * default1 bits), the allowed-1 settings of the non-true one. */
static uint64_t true_control(uint64_t phys_true, uint64_t nontrue_l1)
{
    uint32_t must1 = (uint32_t)phys_true & (uint32_t)nontrue_l1;
    return (nontrue_l1 & 0xffffffff00000000ull) | must1;
}

static unsigned vmcs_features(uint32_t pin1, uint32_t proc2_1)
{
    unsigned f = 0;
    if (proc2_1 & BIT(5))
        f |= VMCS12_F_VPID;
    if (proc2_1 & BIT(1))
        f |= VMCS12_F_EPT;
    if (proc2_1 & BIT(17))
        f |= VMCS12_F_PML;
    if (proc2_1 & BIT(13))
        f |= VMCS12_F_VMFUNC;
    if (proc2_1 & BIT(14))
        f |= VMCS12_F_SHADOW;
    if (proc2_1 & BIT(10))
        f |= VMCS12_F_PLE;
    if (pin1 & BIT(6))
        f |= VMCS12_F_PREEMPT;
    return f;
}

void nested_caps_compute(const struct nested_phys *p, struct nested_caps *c)
{
    memset(c, 0, sizeof(*c));
    uint64_t *m = c->msr;

    m[IDX(MSR_VMX_BASIC)] = VMCS12_REVISION | ((uint64_t)VMCS12_REGION_SIZE << 32) | BASIC_WB |
                            BASIC_TRUE_CTLS | (p->basic & BASIC_INS_OUTS_INFO);

    /* The non-true MSRs come from the CPU's non-true ones (their allowed-0
     * settings keep every default1 bit at 1); the true ones say which of
     * those L1 may clear. */
    m[IDX(MSR_VMX_PINBASED)] = control(p->pin, NESTED_PIN_OK);
    m[IDX(MSR_VMX_PROCBASED)] = control(p->proc | NESTED_PROC_MUST1, NESTED_PROC_OK);
    m[IDX(MSR_VMX_EXIT)] = control(p->exit, NESTED_EXIT_OK);
    m[IDX(MSR_VMX_ENTRY)] = control(p->entry, NESTED_ENTRY_OK);
    m[IDX(MSR_VMX_TRUE_PINBASED)] = true_control(p->true_pin, m[IDX(MSR_VMX_PINBASED)]);
    m[IDX(MSR_VMX_TRUE_PROCBASED)] = true_control(p->true_proc | NESTED_PROC_MUST1, m[IDX(MSR_VMX_PROCBASED)]);
    m[IDX(MSR_VMX_TRUE_EXIT)] = true_control(p->true_exit, m[IDX(MSR_VMX_EXIT)]);
    m[IDX(MSR_VMX_TRUE_ENTRY)] = true_control(p->true_entry, m[IDX(MSR_VMX_ENTRY)]);

    uint64_t proc2 = control(p->proc2, NESTED_PROC2_OK);
    proc2 &= 0xffffffff00000000ull;     /* no secondary control must be 1 */
    m[IDX(MSR_VMX_PROCBASED2)] = proc2;
    uint32_t proc2_1 = (uint32_t)(proc2 >> 32);

    /* EPT/VPID capabilities only for what secondary controls offer. */
    uint64_t ev = p->ept_vpid & NESTED_EPT_VPID_OK;
    if (!(proc2_1 & BIT(1)))
        ev &= 0xffffffff00000000ull;
    if (!(proc2_1 & BIT(5)))
        ev &= 0xffffffffull;
    m[IDX(MSR_VMX_EPT_VPID_CAP)] = ev;

    /* "Enable VM functions" without any function: VMFUNC in L2 always
     * exits to L1 (SDM, VMX non-root operation, "VM Functions": a
     * function that is not enabled causes a VM exit). */
    m[IDX(MSR_VMX_VMFUNC)] = 0;

    c->vmwrite_any = true;
    m[IDX(MSR_VMX_MISC)] = (p->misc & NESTED_MISC_OK) | MISC_VMWRITE_ANY;

    m[IDX(MSR_VMX_CR0_FIXED0)] = p->cr0_fixed0;
    m[IDX(MSR_VMX_CR0_FIXED1)] = p->cr0_fixed1 | p->cr0_fixed0;
    m[IDX(MSR_VMX_CR4_FIXED0)] = p->cr4_fixed0;
    m[IDX(MSR_VMX_CR4_FIXED1)] = (p->cr4_fixed1 & p->cr4_guest_bits) | p->cr4_fixed0;

    uint32_t pin1 = (uint32_t)(m[IDX(MSR_VMX_PINBASED)] >> 32);
    c->fields = vmcs_features(pin1, proc2_1);
    m[IDX(MSR_VMX_VMCS_ENUM)] = (uint64_t)vmcs12_max_index(c->fields) << 1;
    c->maxphyaddr = p->maxphyaddr ? p->maxphyaddr : 36;

    /* Which exist (SDM Appendix A): 0x480-0x48a always; PROCBASED2 with
     * "activate secondary controls"; EPT_VPID_CAP with EPT or VPID; the
     * true MSRs with BASIC[55]; VMFUNC with "enable VM functions".
     * PROCBASED3 and EXIT2 (tertiary / secondary exit controls) never. */
    c->present = (uint32_t)BIT(IDX(MSR_VMX_VMCS_ENUM) + 1) - 1;
    if ((uint32_t)(m[IDX(MSR_VMX_PROCBASED)] >> 32) & BIT(31))
        c->present |= BIT(IDX(MSR_VMX_PROCBASED2));
    if (proc2_1 & (BIT(1) | BIT(5)))
        c->present |= BIT(IDX(MSR_VMX_EPT_VPID_CAP));
    c->present |= BIT(IDX(MSR_VMX_TRUE_PINBASED)) | BIT(IDX(MSR_VMX_TRUE_PROCBASED)) |
                  BIT(IDX(MSR_VMX_TRUE_EXIT)) | BIT(IDX(MSR_VMX_TRUE_ENTRY));
    if (proc2_1 & BIT(13))
        c->present |= BIT(IDX(MSR_VMX_VMFUNC));
}

bool nested_caps_rdmsr(const struct nested_caps *c, uint32_t msr, uint64_t *val)
{
    if (msr < MSR_VMX_FIRST || msr > MSR_VMX_LAST || !(c->present & BIT(IDX(msr))))
        return false;
    *val = c->msr[IDX(msr)];
    return true;
}

bool nested_eptp_valid(const struct nested_caps *c, uint64_t eptp)
{
    uint64_t cap = nested_cap(c, MSR_VMX_EPT_VPID_CAP);
    unsigned type = eptp & 7;
    if (!((type == 0 && (cap & BIT(8))) || (type == 6 && (cap & BIT(14)))))
        return false;
    if (((eptp >> 3) & 7) != 3 || !(cap & BIT(6)))
        return false;                   /* page-walk length 4 only */
    if ((eptp & BIT(6)) && !(cap & BIT(21)))
        return false;                   /* A/D flags not offered */
    if (eptp & (BIT(7) | 0xf00))
        return false;                   /* shadow-stack bit, reserved 11:8 */
    return c->maxphyaddr >= 64 || !(eptp >> c->maxphyaddr);
}

bool nested_invept_type_ok(const struct nested_caps *c, uint64_t type)
{
    uint64_t cap = nested_cap(c, MSR_VMX_EPT_VPID_CAP);
    if (!(cap & BIT(20)))
        return false;
    return (type == 1 && (cap & BIT(25))) || (type == 2 && (cap & BIT(26)));
}

bool nested_invvpid_type_ok(const struct nested_caps *c, uint64_t type)
{
    uint64_t cap = nested_cap(c, MSR_VMX_EPT_VPID_CAP);
    return (cap & BIT(32)) && type <= 3 && (cap & BIT(40 + type));
}

bool nested_vmcs_addr_ok(const struct nested_caps *c, uint64_t pa)
{
    if (pa & (PAGE_SIZE - 1))
        return false;
    return c->maxphyaddr >= 64 || !(pa >> c->maxphyaddr);
}

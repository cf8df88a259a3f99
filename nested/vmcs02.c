/* vmcs02: the VMCS L0 runs L2 on, built from vmcs12 and L0's own needs.
 *
 * Fields are split by how often they change (as KVM's nested VMX does):
 *   hot  - guest RIP, RSP, RFLAGS, CR0/CR3/CR4, interruptibility, activity,
 *          pending debug exceptions, event injection: copied at every
 *          emulated VM entry and saved at every exit reflected to L1;
 *   rare - controls, the rest of the guest state: copied only when vmcs02
 *          was prepared from another vmcs12 or L1 VMWRITEs one of them;
 *          saved back to vmcs12 lazily, when L1 reads or writes one of them
 *          or vmcs12 goes back to L1's memory (n->guest_stale).
 * L0's host state is written once when vmcs02 is created. */
#include "vmcs02_hot.h"
#include "domain.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

#define G(enc) V12(n->vmcs12, (enc))

/* Guest-state fields copied verbatim both ways (rare). */
static const uint16_t rare_guest[] = {
    VMCS_GUEST_ES_SEL, VMCS_GUEST_CS_SEL, VMCS_GUEST_SS_SEL, VMCS_GUEST_DS_SEL,
    VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL, VMCS_GUEST_LDTR_SEL, VMCS_GUEST_TR_SEL,
    VMCS_GUEST_ES_LIMIT, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_DS_LIMIT,
    VMCS_GUEST_FS_LIMIT, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_TR_LIMIT,
    VMCS_GUEST_GDTR_LIMIT, VMCS_GUEST_IDTR_LIMIT,
    VMCS_GUEST_ES_AR, VMCS_GUEST_CS_AR, VMCS_GUEST_SS_AR, VMCS_GUEST_DS_AR,
    VMCS_GUEST_FS_AR, VMCS_GUEST_GS_AR, VMCS_GUEST_LDTR_AR, VMCS_GUEST_TR_AR,
    VMCS_GUEST_SYSENTER_CS,
    VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE, VMCS_GUEST_DS_BASE,
    VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_TR_BASE,
    VMCS_GUEST_GDTR_BASE, VMCS_GUEST_IDTR_BASE,
    VMCS_GUEST_SYSENTER_ESP, VMCS_GUEST_SYSENTER_EIP,
};

/* Every hot field L1 writes: the verbatim guest copies, the CR0/CR4
 * views vmcs02 derives, event injection, L1's timer. */
const uint16_t vmcs02_hot_inputs[] = { HOT_GUEST_COPIED(ENC_ITEM) HOT_DERIVED(ENC_ITEM) };
const unsigned vmcs02_nr_hot_inputs = ARRAY_SIZE(vmcs02_hot_inputs);

static struct vmcs12_list rare_list = VMCS12_LIST(rare_guest);

static void list_ready(struct vmcs12_list *l)
{
    if (likely(l->ready))
        return;
    for (unsigned i = 0; i < l->n; i++)
        l->off[i] = (uint16_t)(VMCS12_OFF_FIELDS + 8 * vmcs12_index_of(l->enc[i]));
    l->ready = true;
}

/* Values are stored as the CPU returns them: VMREAD zero-extends to the
 * field's width, which is what vmcs12 holds. */
void vmcs12_list_put(struct vmcs12_list *l, const uint8_t *v12)
{
    list_ready(l);
    for (unsigned i = 0; i < l->n; i++)
        vmwrite(l->enc[i], *(const uint64_t *)(v12 + l->off[i]));
}

void vmcs12_list_get(struct vmcs12_list *l, uint8_t *v12)
{
    list_ready(l);
    for (unsigned i = 0; i < l->n; i++)
        *(uint64_t *)(v12 + l->off[i]) = vmread(l->enc[i]);
}

bool vmcs02_field_is_hot(uint32_t enc)
{
    /* Exit information is L0's output, never an input of vmcs02. */
    if (vmcs_enc_type(enc) == VMCS_T_EXIT_INFO)
        return true;
    for (unsigned i = 0; i < vmcs02_nr_hot_inputs; i++)
        if (vmcs02_hot_inputs[i] == enc)
            return true;
    return false;
}

static uint32_t proc12(const struct vcpu_nested *n) { return (uint32_t)G(VMCS_PROC_CONTROLS); }


/* ---- rare fields ---------------------------------------------------------- */

/* L2's TSC is L1's (host + L0's offset for L1) plus vmcs12's offset when
 * L1 uses TSC offsetting (SDM 26.3, "RDTSC"). */
uint64_t vmcs02_tsc_offset(const struct vcpu *v)
{
    const struct vcpu_nested *n = &v->nested;
    return v->tsc_offset + ((proc12(n) & PROC_USE_TSC_OFFSETTING) ? G(VMCS_TSC_OFFSET) : 0);
}

void nested_tsc_offset_changed(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    /* vmcs02 may be current before v->vmcs_pa says so (the VM-entry
     * MSR-load list of an entry in progress). */
    if (!n->vmcs02_pa || vmptrst() != n->vmcs02_pa) {      /* vmcs01 current */
        vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
        n->rare_dirty = true;                               /* vmcs02's includes it */
        return;
    }
    /* L2's WRMSR that L1 lets through, or vmcs12's entry MSR-load list:
     * L1's TSC takes the value (not offset by vmcs12's, as the CPU's
     * WRMSR), L2 sees it plus vmcs12's offset. */
    vmwrite(VMCS_TSC_OFFSET, vmcs02_tsc_offset(v));
    vmptrld(n->vmcs01_pa);
    vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
    vmptrld(n->vmcs02_pa);
}


static void put_controls(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t p2_12 = vmcs12_proc2(n);
    const uint32_t p2_from_l1 = PROC2_DESC_TABLE_EXITING | PROC2_ENABLE_RDTSCP |
        PROC2_WBINVD_EXITING | PROC2_UNRESTRICTED_GUEST | PROC2_PAUSE_LOOP_EXITING |
        PROC2_RDRAND_EXITING | PROC2_ENABLE_INVPCID | PROC2_ENABLE_VMFUNC | PROC2_RDSEED_EXITING;

    vmwrite(VMCS_PIN_CONTROLS, G(VMCS_PIN_CONTROLS) | vmx_caps.pin);
    /* Every port and MSR exits to L0, which decides from L1's bitmaps
     * (read live, as the CPU does) whether the exit is L1's. */
    uint32_t proc = (proc12(n) | vmx_caps.proc | PROC_UNCOND_IO_EXITING | PROC_ACTIVATE_SECONDARY) &
                    ~(uint32_t)(PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS);
    vmwrite(VMCS_PROC_CONTROLS, proc);
    vmwrite(VMCS_PROC_CONTROLS2, (p2_12 & p2_from_l1) | PROC2_ENABLE_EPT | PROC2_ENABLE_VPID |
                                 (vmx_caps.proc2 & PROC2_UNRESTRICTED_GUEST & p2_12));
    if (p2_12 & PROC2_ENABLE_VMFUNC)
        vmwrite(VMCS_VMFUNC_CONTROLS, 0);      /* none offered: VMFUNC exits */
    if (p2_12 & PROC2_PAUSE_LOOP_EXITING) {
        vmwrite(VMCS_PLE_GAP, G(VMCS_PLE_GAP));
        vmwrite(VMCS_PLE_WINDOW, G(VMCS_PLE_WINDOW));
    }
    vmwrite(VMCS_EXIT_CONTROLS, vmx_caps.exit);
    vmwrite(VMCS_EXCEPTION_BITMAP, G(VMCS_EXCEPTION_BITMAP) | BIT(X86_EXC_MC));
    vmwrite(VMCS_PF_ERROR_MASK, G(VMCS_PF_ERROR_MASK));
    vmwrite(VMCS_PF_ERROR_MATCH, G(VMCS_PF_ERROR_MATCH));
    uint64_t nr_targets = G(VMCS_CR3_TARGET_COUNT);
    vmwrite(VMCS_CR3_TARGET_COUNT, nr_targets);
    for (unsigned i = 0; i < nr_targets && i < 4; i++)
        vmwrite(VMCS_CR3_TARGET0 + 2 * i, vmcs12_get(n->vmcs12, VMCS_CR3_TARGET0 + 2 * i));
    vmwrite(VMCS_CR0_GUEST_HOST_MASK, G(VMCS_CR0_GUEST_HOST_MASK) | HV_CR0_OWNED);
    vmwrite(VMCS_CR4_GUEST_HOST_MASK, G(VMCS_CR4_GUEST_HOST_MASK) | HV_CR4_OWNED);
    vmwrite(VMCS_TSC_OFFSET, vmcs02_tsc_offset(v));
    vmwrite(VMCS_VPID, n->vpid02);
}

/* Guest state that is not a plain copy: EFER, PAT, debug state follow the
 * vmcs12 entry controls; without "load X" L2 starts with L1's value
 * (SDM 27.3.2.1), which L0 holds in vmcs01 (read before vmcs02 was made
 * current, in `l1`). */
static void put_guest_msrs(struct vcpu_nested *n, const struct l1_regs *l1)
{
    uint32_t entry = (uint32_t)G(VMCS_ENTRY_CONTROLS);
    bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
    uint64_t efer;
    if (entry & ENTRY_LOAD_IA32_EFER) {
        efer = G(VMCS_GUEST_IA32_EFER);
    } else {
        efer = l1->efer & ~(uint64_t)(EFER_LMA | EFER_LME);
        if (ia32e)
            efer |= EFER_LMA | EFER_LME;
    }
    vmwrite(VMCS_GUEST_IA32_EFER, efer);
    vmwrite(VMCS_GUEST_IA32_PAT, (entry & ENTRY_LOAD_IA32_PAT) ? G(VMCS_GUEST_IA32_PAT) : l1->pat);
    bool dbg = entry & ENTRY_LOAD_DEBUG_CONTROLS;
    vmwrite(VMCS_GUEST_DR7, dbg ? G(VMCS_GUEST_DR7) : l1->dr7);
    vmwrite(VMCS_GUEST_IA32_DEBUGCTL, dbg ? G(VMCS_GUEST_IA32_DEBUGCTL) : l1->debugctl);
    vmwrite(VMCS_ENTRY_CONTROLS, (vmx_caps.entry & ~(uint32_t)ENTRY_IA32E_MODE_GUEST) |
                                 (ia32e ? ENTRY_IA32E_MODE_GUEST : 0));
    if (vmcs12_proc2(n) & PROC2_ENABLE_EPT)
        for (unsigned i = 0; i < 4; i++)
            vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, vmcs12_get(n->vmcs12, VMCS_GUEST_PDPTE0 + 2 * i));
}

void vmcs02_put_rare(struct vcpu *v, const struct l1_regs *l1)
{
    struct vcpu_nested *n = &v->nested;
    put_controls(v);
    vmcs12_list_put(&rare_list, n->vmcs12);
    put_guest_msrs(n, l1);
    vmwrite(VMCS_LINK_POINTER, ~0ull);
    n->vmcs02_of = n->current_ptr;
    n->rare_dirty = false;
}

/* ---- vmcs02 → vmcs12 (SDM 28.3, saving guest state) ------------------------- */

/* The rare guest fields, when vmcs12 must be exact (vmcs02 current). */
void vmcs02_get_rare(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint8_t *v12 = n->vmcs12;
    vmcs12_list_get(&rare_list, v12);
    uint32_t exit = (uint32_t)G(VMCS_EXIT_CONTROLS);
    uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);
    if (exit & EXIT_SAVE_DEBUG_CONTROLS) {
        V12(v12, VMCS_GUEST_DR7) = vmread(VMCS_GUEST_DR7);
        V12(v12, VMCS_GUEST_IA32_DEBUGCTL) = vmread(VMCS_GUEST_IA32_DEBUGCTL);
    }
    if (exit & EXIT_SAVE_IA32_PAT)
        V12(v12, VMCS_GUEST_IA32_PAT) = vmread(VMCS_GUEST_IA32_PAT);
    if (exit & EXIT_SAVE_IA32_EFER)
        V12(v12, VMCS_GUEST_IA32_EFER) = efer;
    /* 28.2: "IA-32e mode guest" takes EFER.LMA. */
    uint64_t entry = G(VMCS_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
    V12(v12, VMCS_ENTRY_CONTROLS) = entry | ((efer & EFER_LMA) ? ENTRY_IA32E_MODE_GUEST : 0);
    if (vmcs12_proc2(n) & PROC2_ENABLE_EPT)
        for (unsigned i = 0; i < 4; i++)
            vmcs12_set(v12, VMCS_GUEST_PDPTE0 + 2 * i, vmread(VMCS_GUEST_PDPTE0 + 2 * i));
}


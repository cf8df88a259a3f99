/* Emulated VM entry: VMLAUNCH/VMRESUME of L1 after the instruction-level
 * checks (vmx_emul.c).  SDM Vol. 3 chapter 27: the checks on vmcs12
 * controls (27.2.1, VMfailValid 7) and host state (27.2.2, VMfailValid 8),
 * the guest-state checks (27.3.1, an entry-failure exit to L1), then
 * vmcs02 is brought up to date and the vCPU runs L2. */
#include "vmcs02_hot.h"
#include "vmentry_check.h"
#include "console.h"
#include "domain.h"
#include "pmm.h"
#include "pml.h"
#include "sched.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

#define G(enc) V12(n->vmcs12, (enc))

static int vmcs02_alloc(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    n->vmcs02_pa = pmm_alloc_zeroed_page();
    if (!n->vmcs02_pa)
        return -1;
    *(uint32_t *)phys_to_virt(n->vmcs02_pa) = vmx_caps.revision;
    vmclear(n->vmcs02_pa);
    /* L0's host state, the same for every L2 this vCPU will run. */
    vmptrld(n->vmcs02_pa);
    vmcs_write_host_state();
    vmptrld(v->vmcs_pa);
    n->vmcs02_launched = false;
    n->vmcs02_of = 0;
    /* One VPID for whatever L2 this vCPU runs (L1's VPIDs are virtual:
     * a change of VPID12 flushes it). */
    n->vpid02 = (uint16_t)(0x8000 | v->vpid);
    n->vmcs01_pa = v->vmcs_pa;
    return 0;
}

/* The guest-state checks on fields L1 writes through the shadow VMCS that
 * L0 adjusts before the CPU sees them (CR0/CR4 fixed bits) or that the CPU
 * allows beyond what L1 is offered (activity states). */
static bool hot_guest_ok(const struct nested_caps *c, const struct vcpu_nested *n)
{
    uint64_t cr0 = G(VMCS_GUEST_CR0), cr4 = G(VMCS_GUEST_CR4);
    uint64_t f0 = nested_cap(c, MSR_VMX_CR0_FIXED0), f1 = nested_cap(c, MSR_VMX_CR0_FIXED1);
    if (vmcs12_proc2(n) & PROC2_UNRESTRICTED_GUEST)
        f0 &= ~(uint64_t)(CR0_PE | CR0_PG);
    uint64_t g0 = nested_cap(c, MSR_VMX_CR4_FIXED0), g1 = nested_cap(c, MSR_VMX_CR4_FIXED1);
    return (cr0 & f0) == f0 && !(cr0 & ~f1) && (cr4 & g0) == g0 && !(cr4 & ~g1) &&
           G(VMCS_GUEST_ACTIVITY_STATE) <= ACTIVITY_HLT;
}

/* SDM 27.3.1.5, the part vmentry_check.c leaves to the caller (it needs
 * L1's memory): a VMCS link pointer other than all ones names, with VMCS
 * shadowing, a shadow VMCS in L1's RAM (revision identifier, bit 31 set).
 * Nestor refuses any other link pointer. */
static bool link_pointer_ok(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint64_t link = G(VMCS_LINK_POINTER);
    if (link == ~0ull)
        return true;
    uint32_t rev;
    if (!(vmcs12_proc2(n) & PROC2_VMCS_SHADOWING) || link >= v->dom->mem_bytes ||
        v->dom->mem_bytes - link < sizeof(rev) || copy_from_gpa(v->dom, &rev, link, sizeof(rev)))
        return false;
    return rev == (VMCS12_REVISION | VMCS12_SHADOW_INDICATOR);
}

static bool run_checks(struct vcpu *v, bool launch)
{
    struct vcpu_nested *n = &v->nested;
    const struct nested_caps *c = nested_caps_get();
    const char *why = NULL;
    /* Controls and host state change only through VMWRITEs that exit
     * (rare fields) or a new vmcs12: checked in full then; otherwise only
     * the event injection, whose fields are shadowed.  L1's EFER.LMA
     * (host address-space checks) changes only with L1's own exits. */
    bool full = launch || n->rare_dirty || n->vmcs02_of != n->current_ptr ||
                n->checked_lma != !!(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA);
    int err;
    if (full) {
        err = vmentry_check_controls(c, n->vmcs12, &why);
        if (!err)
            err = vmentry_check_host(c, n->vmcs12, &why);
        n->checked_lma = !!(vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA);
        if (!err)
            err = vmentry_check_host_lma(n->vmcs12, n->checked_lma, &why);
    } else if (G(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
        err = vmentry_check_injection(c, n->vmcs12, &why);
    } else {
        err = 0;            /* nothing to inject: nothing to check */
    }
    if (err) {
        hv_debug("d%u: VM entry: VMfailValid(%d): %s", v->dom->id, err, why);
        nested_vm_fail_valid(v, (uint32_t)err);
        return false;
    }
    /* The guest checks in software when vmcs02 takes rare fields; the
     * hot ones L1 may change through the shadow VMCS are checked again by
     * the CPU on vmcs02, whose failure is reflected the same way. */
    if (!full && !hot_guest_ok(c, n)) {
        nested_entry_failure_exit(v, BIT(31) | 33, 0);
        return false;
    }
    if (full) {
        uint64_t qual = 0;
        int reason = vmentry_check_guest(c, n->vmcs12, &qual, &why);
        if (reason) {
            hv_debug("d%u: VM entry: invalid guest state: %s", v->dom->id, why);
            nested_entry_failure_exit(v, BIT(31) | (uint32_t)reason, qual);
            return false;
        }
        if (!link_pointer_ok(v)) {
            nested_entry_failure_exit(v, BIT(31) | 33, 4);
            return false;
        }
    }
    return true;
}

/* L1's timer for L2 (SDM 26.5.1): vmcs02 runs the smaller of it and
 * L0's own slice. */
static void load_timer02(struct vcpu *v, uint64_t l0_left)
{
    struct vcpu_nested *n = &v->nested;
    uint64_t val = l0_left;
    if (G(VMCS_PIN_CONTROLS) & PIN_PREEMPTION_TIMER)
        val = MIN(val, nested_timer12_now(v));
    vmwrite(VMCS_PREEMPTION_TIMER, val);
    n->timer02_loaded = (uint32_t)val;
}

/* The timer counts down once each time bit X of the TSC changes from the
 * VM entry on, whatever runs meanwhile (L0's handling of L2 exits L1
 * never sees, other domains): its end is a point in TSC time. */
static void arm_timer(struct vcpu *v, uint64_t l0_left)
{
    struct vcpu_nested *n = &v->nested;
    if (G(VMCS_PIN_CONTROLS) & PIN_PREEMPTION_TIMER) {
        n->timer12_left = (uint32_t)G(VMCS_PREEMPTION_TIMER);
        n->timer12_deadline = (rdtsc() >> vmx_caps.preemption_shift) + n->timer12_left;
    }
    load_timer02(v, l0_left);
}

/* A new L0 slice while L2 runs: what is left of L1's timer still bounds
 * vmcs02's. */
void nested_new_slice(struct vcpu *v, uint64_t slice)
{
    load_timer02(v, slice);
}

void nested_vm_entry(struct vcpu *v, bool launch)
{
    struct vcpu_nested *n = &v->nested;
    if (n->shadow_live)
        shadow_hot_to_vmcs12(v);
    if (!run_checks(v, launch))
        return;
    if (!n->vmcs02_pa && vmcs02_alloc(v)) {
        domain_crash(v->dom, "out of memory for vmcs02");
        return;
    }
    /* vmcs02 keeps what it has when vmcs12's rare fields (controls, EPTP,
     * the rest of the guest state) did not change and its EPT02 root is
     * still the one for that EPTP. */
    struct dom_nested *dn = &v->dom->nested;
    bool rare = n->rare_dirty || n->vmcs02_of != n->current_ptr || n->ept02_gen != dn->slot_gen;
    uint64_t eptp = n->eptp02;
    /* vmcs02 may hold guest state newer than vmcs12 (L2 ran since the
     * last exit; a LIDT or a segment load does not exit): vmcs12 takes it
     * before vmcs02 is rewritten from vmcs12. */
    if (rare && n->guest_stale)
        nested_sync_guest(v);
    if (rare) {
        eptp = ept02_eptp(v);
        if (!eptp) {
            domain_crash(v->dom, "out of memory for EPT02");
            return;
        }
    }
    struct l1_regs l1;
    if (rare)
        l1 = (struct l1_regs){
            .efer = vmread(VMCS_GUEST_IA32_EFER), .pat = vmread(VMCS_GUEST_IA32_PAT),
            .dr7 = vmread(VMCS_GUEST_DR7), .debugctl = vmread(VMCS_GUEST_IA32_DEBUGCTL),
        };
    uint64_t l0_left = vmread(VMCS_PREEMPTION_TIMER);
    /* L1's PML entries belong to vmcs01: drain them before it stops
     * being current. */
    pml_vcpu_switch_out(v);

    vmptrld(n->vmcs02_pa);
    if (rare) {
        vmcs02_put_rare(v, &l1);
        vmwrite(VMCS_EPT_POINTER, eptp);
        n->eptp02 = eptp;
        n->ept02_gen = dn->slot_gen;
    }
    vmcs02_put_hot(n);
    if (G(VMCS_ENTRY_MSR_LOAD_COUNT)) {
        /* SDM 27.4: after the guest state; a failure is an entry failure
         * (reason 34, the entry's number).  The loads change vmcs02
         * fields vmcs12 does not hold: prepare them again next time. */
        nested_mark_rare(n);
        unsigned bad = nested_entry_msr_load(v);
        if (bad) {
            vmptrld(v->vmcs_pa);
            nested_entry_failure_exit(v, BIT(31) | 34, bad);
            return;
        }
    }
    arm_timer(v, l0_left);
    /* Without VPID12 every entry flushes L2's linear translations (SDM
     * 28.3.3.3); with it, INVVPID from L1 does. */
    if (!(vmcs12_proc2(n) & PROC2_ENABLE_VPID))
        invvpid(INVVPID_SINGLE_CONTEXT, n->vpid02);

    if (launch)
        vmcs12_set_header(n->vmcs12, VMCS12_OFF_LAUNCH, VMCS12_LAUNCH_LAUNCHED);
    n->launching = launch;
    n->guest_stale = false;
    n->in_l2 = true;
    v->vmcs_pa = n->vmcs02_pa;
    n->vmcs01_launched = v->launched;
    v->launched = n->vmcs02_launched;
}

void nested_l2_entry_failed(struct vcpu *v, int rc)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t err = rc == 2 ? (uint32_t)vmread(VMCS_INSTR_ERROR) : 0;
    /* vmcs12 passed every check L0 makes, so the CPU refusing vmcs02 is
     * L0's fault: say so, and fail L1's instruction with what the CPU
     * said rather than run anything. */
    hv_err("d%u: VM entry to L2 failed on vmcs02 (%s %u): nested/ bug", v->dom->id,
           rc == 2 ? "VMfailValid" : "VMfailInvalid", err);
    nested_switch_to_l1(v);     /* VMfail: vmcs02's launch state is unchanged */
    if (n->launching)
        vmcs12_set_header(n->vmcs12, VMCS12_OFF_LAUNCH, VMCS12_LAUNCH_CLEAR);
    nested_vm_fail_valid(v, err ? err : 7);
}

/* L2 exits: every VM exit of vmcs02 arrives here.  L0 keeps what is its
 * own (EPT02 fills, its interrupts and time slices, exits L1 did not ask
 * for) and resumes L2 without L1 noticing; the rest is reflected: exit
 * information into vmcs12 (SDM 28.2), L2's state saved (28.3), vmcs12's
 * host state loaded into L1 (28.5). */
#include "vmcs02_hot.h"
#include "exit_reflect.h"
#include "console.h"
#include "domain.h"
#include "exit.h"
#include "sched.h"
#include "vcpu.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

#define G(enc) V12(n->vmcs12, (enc))

/* ---- leaving L2 ------------------------------------------------------------ */

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };

/* SDM 28.5.2: data segments from the host selectors; a null selector
 * makes the register unusable. */
static uint32_t data_ar(uint64_t sel) { return sel ? 0xc093 : 0x1c000; }

/* The part of SDM 28.5 that is derived from vmcs12 alone. */
static void build_host_plan(struct vcpu_nested *n)
{
    struct nested_host_plan *p = &n->host_plan;
    bool host64 = G(VMCS_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE;
    p->ar[S_CS] = host64 ? 0xa09b : 0xc09b;
    p->ar[S_SS] = data_ar(G(VMCS_HOST_SS_SEL));
    p->ar[S_DS] = data_ar(G(VMCS_HOST_DS_SEL));
    p->ar[S_ES] = data_ar(G(VMCS_HOST_ES_SEL));
    p->ar[S_FS] = data_ar(G(VMCS_HOST_FS_SEL));
    p->ar[S_GS] = data_ar(G(VMCS_HOST_GS_SEL));
    uint64_t cr4 = G(VMCS_HOST_CR4);
    p->cr4 = host64 ? cr4 | CR4_PAE : cr4 & ~(uint64_t)CR4_PCIDE;
    n->host_plan_ok = true;
}

/* Host fields loaded as they are: (vmcs01 guest field, vmcs12 host field).
 * VMWRITE truncates the selectors to 16 bits. */
#define HOST_COPIED(X) \
    X(VMCS_GUEST_CR3, VMCS_HOST_CR3) X(VMCS_GUEST_SYSENTER_CS, VMCS_HOST_SYSENTER_CS) \
    X(VMCS_GUEST_SYSENTER_ESP, VMCS_HOST_SYSENTER_ESP) \
    X(VMCS_GUEST_SYSENTER_EIP, VMCS_HOST_SYSENTER_EIP) \
    X(VMCS_GUEST_ES_SEL, VMCS_HOST_ES_SEL) X(VMCS_GUEST_CS_SEL, VMCS_HOST_CS_SEL) \
    X(VMCS_GUEST_SS_SEL, VMCS_HOST_SS_SEL) X(VMCS_GUEST_DS_SEL, VMCS_HOST_DS_SEL) \
    X(VMCS_GUEST_FS_SEL, VMCS_HOST_FS_SEL) X(VMCS_GUEST_GS_SEL, VMCS_HOST_GS_SEL) \
    X(VMCS_GUEST_TR_SEL, VMCS_HOST_TR_SEL) X(VMCS_GUEST_FS_BASE, VMCS_HOST_FS_BASE) \
    X(VMCS_GUEST_GS_BASE, VMCS_HOST_GS_BASE) X(VMCS_GUEST_TR_BASE, VMCS_HOST_TR_BASE) \
    X(VMCS_GUEST_GDTR_BASE, VMCS_HOST_GDTR_BASE) X(VMCS_GUEST_IDTR_BASE, VMCS_HOST_IDTR_BASE) \
    X(VMCS_GUEST_RIP, VMCS_HOST_RIP) X(VMCS_GUEST_RSP, VMCS_HOST_RSP)
/* Fields the load sets to fixed values (28.5.1-28.5.3): DR7, DEBUGCTL,
 * flat bases and limits, LDTR unusable, TR's limit and type, descriptor
 * table limits, RFLAGS, no blocking, active, no pending debug exceptions. */
#define HOST_FIXED(X) \
    X(VMCS_GUEST_DR7, 0x400) X(VMCS_GUEST_IA32_DEBUGCTL, 0) \
    X(VMCS_GUEST_ES_BASE, 0) X(VMCS_GUEST_CS_BASE, 0) X(VMCS_GUEST_SS_BASE, 0) \
    X(VMCS_GUEST_DS_BASE, 0) \
    X(VMCS_GUEST_ES_LIMIT, 0xffffffff) X(VMCS_GUEST_CS_LIMIT, 0xffffffff) \
    X(VMCS_GUEST_SS_LIMIT, 0xffffffff) X(VMCS_GUEST_DS_LIMIT, 0xffffffff) \
    X(VMCS_GUEST_FS_LIMIT, 0xffffffff) X(VMCS_GUEST_GS_LIMIT, 0xffffffff) \
    X(VMCS_GUEST_TR_LIMIT, 0x67) X(VMCS_GUEST_TR_AR, 0x8b) \
    X(VMCS_GUEST_LDTR_SEL, 0) X(VMCS_GUEST_LDTR_BASE, 0) X(VMCS_GUEST_LDTR_LIMIT, 0) \
    X(VMCS_GUEST_LDTR_AR, 0x10000) \
    X(VMCS_GUEST_GDTR_LIMIT, 0xffff) X(VMCS_GUEST_IDTR_LIMIT, 0xffff) \
    X(VMCS_GUEST_RFLAGS, 0x2) X(VMCS_GUEST_INTERRUPTIBILITY, 0) \
    X(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE) X(VMCS_GUEST_PENDING_DBG, 0)
#define LOAD_COPIED(guest, host) vmwrite(guest, V12(v12, host));
#define LOAD_FIXED(guest, val) vmwrite(guest, val);

/* SDM 28.5.1 / 28.5.2 / 28.5.3: vmcs12's host state becomes L1's state
 * (vmcs01 current).  Straight-line, and inline in the reflection path: it
 * runs on every exit to L1. */
static inline __attribute__((always_inline)) void load_host_state(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    const uint8_t *v12 = n->vmcs12;
    if (unlikely(!n->host_plan_ok))
        build_host_plan(n);
    const struct nested_host_plan *p = &n->host_plan;
    HOST_COPIED(LOAD_COPIED)
    HOST_FIXED(LOAD_FIXED)
    vmwrite(VMCS_GUEST_ES_AR, p->ar[S_ES]);
    vmwrite(VMCS_GUEST_CS_AR, p->ar[S_CS]);
    vmwrite(VMCS_GUEST_SS_AR, p->ar[S_SS]);
    vmwrite(VMCS_GUEST_DS_AR, p->ar[S_DS]);
    vmwrite(VMCS_GUEST_FS_AR, p->ar[S_FS]);
    vmwrite(VMCS_GUEST_GS_AR, p->ar[S_GS]);

    uint32_t exit = (uint32_t)G(VMCS_EXIT_CONTROLS);
    bool host64 = exit & EXIT_HOST_ADDR_SPACE_SIZE;
    if (exit & EXIT_LOAD_IA32_PAT)
        vmwrite(VMCS_GUEST_IA32_PAT, G(VMCS_HOST_IA32_PAT));
    /* CR0 bits the load leaves alone: ET, CD, NW, 63:32, 28:19, 17, 15:6. */
    const uint64_t cr0_keep = CR0_ET | CR0_CD | CR0_NW | 0xffffffff00000000ull |
                              0x1ff80000ull | BIT(17) | 0xffc0ull;
    uint64_t cr0 = (G(VMCS_HOST_CR0) & ~cr0_keep) | (vmcs_guest_cr0() & cr0_keep);
    vmcs_set_guest_cr0(cr0);
    vmcs_set_guest_cr4(p->cr4);
    uint64_t efer;
    if (exit & EXIT_LOAD_IA32_EFER) {
        efer = G(VMCS_HOST_IA32_EFER);
    } else {
        efer = vmread(VMCS_GUEST_IA32_EFER);
        efer = host64 ? efer | EFER_LMA | EFER_LME : efer & ~(uint64_t)(EFER_LMA | EFER_LME);
    }
    vmwrite(VMCS_GUEST_IA32_EFER, efer);
    uint64_t entry01 = vmread(VMCS_ENTRY_CONTROLS);
    if (!!(entry01 & ENTRY_IA32E_MODE_GUEST) != host64)
        vmwrite(VMCS_ENTRY_CONTROLS, entry01 ^ ENTRY_IA32E_MODE_GUEST);
}

void nested_load_host_state(struct vcpu *v)
{
    load_host_state(v);
}

void nested_switch_to_l1(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    n->vmcs02_launched = v->launched;
    n->in_l2 = false;
    v->vmcs_pa = n->vmcs01_pa;
    v->launched = n->vmcs01_launched;
    vmptrld(v->vmcs_pa);
}

void nested_entry_failure_exit(struct vcpu *v, uint32_t full_reason, uint64_t qual)
{
    struct vcpu_nested *n = &v->nested;
    G(VMCS_EXIT_REASON) = full_reason;
    G(VMCS_EXIT_QUALIFICATION) = qual;
    nested_load_host_state(v);
    if (n->shadow_live)
        shadow_from_vmcs12(v);
}

void nested_leave_l2(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    vmcs02_get_hot(n);
    if (G(VMCS_EXIT_MSR_STORE_COUNT) && !nested_exit_msr_store(v))
        return;
    /* Before the switch: the shadow VMCS is loaded anyway, and vmcs01
     * once after it. */
    if (n->shadow_live)
        shadow_after_exit(v);
    nested_switch_to_l1(v);
    load_host_state(v);
    if (G(VMCS_EXIT_MSR_LOAD_COUNT) && !nested_exit_msr_load(v))
        return;
}

/* Exit amplification: an episode of L1 work for this L2 exit begins. */
static void count_reflected(struct vcpu_nested *n, unsigned reason)
{
    n->acct.open = reason < NESTED_ACCT_REASONS ? reason + 1 : 0;
    if (n->acct.open)
        n->acct.row[reason].reflected++;
}

/* The exit information is in vmcs12: L1 runs. */
static void exit_to_l1(struct vcpu *v, uint32_t reason)
{
    count_reflected(&v->nested, reason);
    nested_leave_l2(v);
}

static void reflect(struct vcpu *v, uint32_t reason)
{
    struct vcpu_nested *n = &v->nested;
    vmcs02_get_exit_info(n, reason);
    /* SDM 28.2.1: an instruction with a register operand has no
     * displacement, so the qualification is 0.  Bochs 2.7 stores its
     * decoder's stale displacement there; L1 gets the SDM's value. */
    if (unlikely(reason == EXIT_VMREAD || reason == EXIT_VMWRITE || reason == EXIT_LDTR_TR) &&
        (G(VMCS_EXIT_INSTR_INFO) & BIT(10)))
        G(VMCS_EXIT_QUALIFICATION) = 0;
    exit_to_l1(v, reason);
}

/* The exit information of an exit L0 built itself (EPT violation from
 * the EPT12 walk, timer, interrupt, a fault of an instruction L0
 * emulated): vmcs02's, with the reason, qualification and interruption
 * information given; the caller may set more before exit_to_l1. */
static void synthetic_exit_info(struct vcpu_nested *n, uint32_t reason, uint64_t qual,
                                uint32_t intr_info)
{
    vmcs02_get_exit_info(n, reason);
    G(VMCS_EXIT_QUALIFICATION) = qual;
    G(VMCS_EXIT_INTR_INFO) = intr_info;
}

static void reflect_synthetic(struct vcpu *v, uint32_t reason, uint64_t qual, uint32_t intr_info)
{
    synthetic_exit_info(&v->nested, reason, qual, intr_info);
    exit_to_l1(v, reason);
}

/* ---- faults of instructions L0 emulates for L2 ---------------------------- */

void nested_l2_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error,
                         uint64_t cr2)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t info = vector | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID |
                    (has_error ? INTR_INFO_DELIVER_ERROR : 0);
    if (!nested_exception_exits(n->vmcs12, info, error)) {
        if (vector == X86_EXC_PF) {
            write_cr2(cr2);
            v->cr2 = cr2;
        }
        vcpu_inject_exception(v, vector, has_error, error);
        return;
    }
    /* SDM 28.2.2: a #PF exit leaves CR2 alone; the qualification has it. */
    synthetic_exit_info(n, EXIT_EXCEPTION_NMI, vector == X86_EXC_PF ? cr2 : 0, info);
    G(VMCS_EXIT_INTR_ERROR) = error;
    exit_to_l1(v, EXIT_EXCEPTION_NMI);
}

void nested_l2_access_fault(struct vcpu *v, unsigned reason, uint64_t qual, uint64_t gla,
                            uint64_t gpa2)
{
    struct vcpu_nested *n = &v->nested;
    synthetic_exit_info(n, reason, qual, 0);
    G(VMCS_GUEST_LINEAR_ADDR) = gla;
    G(VMCS_GUEST_PHYSICAL_ADDR) = gpa2;
    exit_to_l1(v, reason);
}

/* ---- L0's share --------------------------------------------------------------- */

static int l1_read(void *ctx, uint64_t gpa, void *buf, uint64_t len)
{
    struct domain *d = ctx;
    if (gpa >= d->mem_bytes || d->mem_bytes - gpa < len)
        return -1;
    return copy_from_gpa(d, buf, gpa, len);
}

/* MOV to CR0/CR4 by L2 that only L0 traps (bits L0 owns and L1 does
 * not): L1's view of L2's register takes the new value where L1 lets L2
 * write (SDM 26.1.3); L1's fixed bits hold for L2 too (#GP). */
static void l2_mov_to_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
    struct vcpu_nested *n = &v->nested;
    const struct nested_caps *c = nested_caps_get();
    uint32_t guest = cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4;
    uint64_t mask = G(cr == 0 ? VMCS_CR0_GUEST_HOST_MASK : VMCS_CR4_GUEST_HOST_MASK);
    uint64_t f0 = nested_cap(c, cr == 0 ? MSR_VMX_CR0_FIXED0 : MSR_VMX_CR4_FIXED0);
    uint64_t f1 = nested_cap(c, cr == 0 ? MSR_VMX_CR0_FIXED1 : MSR_VMX_CR4_FIXED1);
    if (cr == 0 && (vmcs12_proc2(n) & PROC2_UNRESTRICTED_GUEST))
        f0 &= ~(uint64_t)(CR0_PE | CR0_PG);
    uint64_t now = vmcs02_l2_cr(n, cr);
    uint64_t want = (now & mask) | (val & ~mask);
    if ((want & f0 & ~mask) != (f0 & ~mask) || (want & ~f1 & ~mask) ||
        (cr == 0 && (want & CR0_PG) && !(want & CR0_PE))) {
        nested_l2_exception(v, X86_EXC_GP, true, 0, 0);
        return;
    }
    /* The other CR's L1 view, before vmcs02_put_crs rewrites both. */
    vmcs12_set(n->vmcs12, cr == 0 ? VMCS_GUEST_CR4 : VMCS_GUEST_CR0, vmcs02_l2_cr(n, cr == 0 ? 4 : 0));
    vmcs12_set(n->vmcs12, guest, want);
    vmcs02_put_crs(n);
    if (cr == 0 && ((want ^ now) & CR0_PG)) {
        /* Paging turned on or off with EFER.LME: IA-32e mode follows. */
        uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);
        if (efer & EFER_LME) {
            bool on = want & CR0_PG;
            vmwrite(VMCS_GUEST_IA32_EFER, on ? efer | EFER_LMA : efer & ~(uint64_t)EFER_LMA);
            uint64_t entry = vmread(VMCS_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST;
            vmwrite(VMCS_ENTRY_CONTROLS, entry | (on ? ENTRY_IA32E_MODE_GUEST : 0));
        }
    }
    vcpu_skip_instruction(v);
}

/* An exit L1 did not ask for: L0 handles it as it would for L1 itself
 * (the device, MSR or instruction is L1's as far as L2 can tell). */
static void l0_handle(struct vcpu *v, uint32_t reason, uint64_t qual)
{
    if (reason == EXIT_CR_ACCESS && ((qual >> 4) & 3) == 0 && ((qual & 0xf) == 0 || (qual & 0xf) == 4)) {
        l2_mov_to_cr(v, qual & 0xf, vcpu_gpr(v, (qual >> 8) & 0xf));
        return;
    }
    if (reason == EXIT_HLT && (vmcs12_get(v->nested.vmcs12, VMCS_PIN_CONTROLS) & PIN_PREEMPTION_TIMER)) {
        /* L1's timer can end the halt: L2 waits in the HLT activity
         * state on the CPU, which the timer leaves with an exit. */
        vcpu_skip_instruction(v);
        vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
        return;
    }
    if (reason == EXIT_RDMSR || reason == EXIT_WRMSR) {
        uint64_t val = (v->regs.gpr[R_DX] << 32) | (uint32_t)v->regs.gpr[R_AX];
        uint32_t msr = (uint32_t)v->regs.gpr[R_CX];
        if (reason == EXIT_RDMSR && msr == MSR_IA32_TSC)
            val = rdtsc() + vmread(VMCS_TSC_OFFSET);    /* L2's view, as its RDTSC */
        else if (!nested_msr(v, msr, reason == EXIT_WRMSR, &val)) {
            nested_l2_exception(v, X86_EXC_GP, true, 0, 0);
            return;
        }
        if (reason == EXIT_RDMSR) {
            v->regs.gpr[R_AX] = (uint32_t)val;
            v->regs.gpr[R_DX] = val >> 32;
        }
        vcpu_skip_instruction(v);
        return;
    }
    exit_handler_t h = exit_handler_for(reason);
    if (!h) {
        domain_crash(v->dom, "L2 exit %u that neither L0 nor L1 handles", reason);
        return;
    }
    h(v);
}

/* What is left of L1's VMX-preemption timer now: it ends at a TSC time
 * (arm_timer), so the time L0 spends on exits L1 never sees counts, as
 * the TSC went on for L2 (SDM 26.5.1). */
uint32_t nested_timer12_now(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint64_t now = rdtsc() >> vmx_caps.preemption_shift;
    uint64_t left = n->timer12_deadline > now ? n->timer12_deadline - now : 0;
    return (uint32_t)MIN(left, (uint64_t)UINT32_MAX);
}

/* At an L2 exit: L1's remainder (for "save VMX-preemption timer value"),
 * and whether it has run out. */
static bool l1_timer_expired(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (!(G(VMCS_PIN_CONTROLS) & PIN_PREEMPTION_TIMER))
        return false;
    n->timer02_loaded = (uint32_t)vmread(VMCS_PREEMPTION_TIMER);
    n->timer12_left = nested_timer12_now(v);
    return n->timer12_left == 0;
}

/* Before L2 runs again after an exit L0 kept: vmcs02's timer stood still
 * in L0, L1's did not; lower vmcs02's to what is left of L1's (0 makes
 * the entry exit at once, after any event injection, as L1's timer exit). */
static void l1_timer_reload(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (!(G(VMCS_PIN_CONTROLS) & PIN_PREEMPTION_TIMER))
        return;
    uint32_t left = nested_timer12_now(v);
    if (left < (uint32_t)vmread(VMCS_PREEMPTION_TIMER)) {
        vmwrite(VMCS_PREEMPTION_TIMER, left);
        n->timer02_loaded = left;
    }
}

void nested_l0_timer_lowered(struct vcpu *v, uint32_t by)
{
    /* What L2 ran is measured as timer02_loaded minus what is left: the
     * cut is not time L2 ran. */
    struct vcpu_nested *n = &v->nested;
    n->timer02_loaded = n->timer02_loaded > by ? n->timer02_loaded - by : 0;
}

void nested_l2_exit(struct vcpu *v, uint32_t full)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t reason = full & 0xffff;
    bool timer_out = l1_timer_expired(v);

    if (unlikely(full & BIT(31))) {
        /* The CPU refused vmcs02's guest state (or machine check during
         * entry): L1's entry fails, launch state unchanged (SDM 27.8). */
        if (n->launching)
            vmcs12_set_header(n->vmcs12, VMCS12_OFF_LAUNCH, VMCS12_LAUNCH_CLEAR);
        uint64_t qual = vmread(VMCS_EXIT_QUALIFICATION);
        count_reflected(n, reason);
        /* vmcs02's own launch state is unchanged too: launched if this
         * was a VMRESUME of it (sched.c left v->launched alone). */
        nested_switch_to_l1(v);
        nested_entry_failure_exit(v, full, qual);
        return;
    }
    n->launching = false;
    uint32_t idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

    switch (reason) {
    case EXIT_EXTERNAL_INTERRUPT:
        handle_external_interrupt(v);
        break;
    case EXIT_EPT_VIOLATION:
    {
        uint64_t qual;
        unsigned r = ept02_violation(v, &qual);
        if (r) {
            reflect_synthetic(v, r, qual, 0);
            return;
        }
        break;
    }
    case EXIT_EPT_MISCONFIG:
        domain_crash(v->dom, "EPT02 misconfiguration at %#lx (nested/ bug)",
                     vmread(VMCS_GUEST_PHYSICAL_ADDR));
        return;
    case EXIT_PREEMPTION_TIMER:
        if (timer_out) {
            reflect(v, EXIT_PREEMPTION_TIMER);
            return;
        }
        handle_preemption_timer(v);
        break;
    case EXIT_VMREAD:
    case EXIT_VMWRITE: {
        /* vmcs12's VMCS shadowing may let L2 reach its shadow VMCS
         * without L1 (vmcs02 does not shadow: L0 does it). */
        struct l1_reader rd = { l1_read, v->dom };
        bool write = reason == EXIT_VMWRITE;
        uint64_t enc = nested_vmx_field_encoding(v);
        if (nested_vmcs_field_exits(n->vmcs12, enc, write, &rd))
            reflect(v, reason);
        else
            nested_l2_vmcs_field(v, write, enc);
        return;
    }
    default: {
        if (nested_exit_always_l1(reason)) {
            reflect(v, reason);
            return;
        }
        struct domain *d = v->dom;
        struct l1_reader rd = { l1_read, d };
        struct l2_exit e = {
            .reason = reason, .qual = vmread(VMCS_EXIT_QUALIFICATION),
            .intr_info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO),
            .intr_error = (uint32_t)vmread(VMCS_EXIT_INTR_ERROR),
            .rcx = v->regs.gpr[R_CX],
        };
        if (reason == EXIT_CR_ACCESS)
            e.cr_source = vcpu_gpr(v, (e.qual >> 8) & 0xf);
        bool l0_needs = reason == EXIT_EXCEPTION_NMI && (e.intr_info & 0xff) == X86_EXC_MC &&
                        ((e.intr_info >> 8) & 7) == 3;
        if (!l0_needs && nested_exit_owner(&e, n->vmcs12, &rd) == REFLECT_L1) {
            reflect(v, reason);
            return;
        }
        l0_handle(v, reason, e.qual);
        break;
    }
    }
    /* L0 handled it: L2 resumes; an event it was delivering is delivered
     * again (SDM 27.2.4), as for any guest. */
    if (unlikely(idt & INTR_INFO_VALID) && v->state != VCPU_DEAD && n->in_l2 &&
        !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
        vmwrite(VMCS_ENTRY_INTR_INFO, idt & ~(uint32_t)BIT(12));
        if (idt & INTR_INFO_DELIVER_ERROR)
            vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
        vmwrite(VMCS_ENTRY_INSTR_LEN, vmread(VMCS_EXIT_INSTR_LEN));
    }
}

/* Before each entry to L2: a virtual interrupt for L1 that L1 intercepts
 * ("external-interrupt exiting") is an exit to L1 (SDM 26.2), with the
 * vector when L1 asked to acknowledge it on exit. */
void nested_before_l2_entry(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    l1_timer_reload(v);
    if (!v->irq_any || !(G(VMCS_PIN_CONTROLS) & PIN_EXT_INTR_EXITING))
        return;
    uint32_t info = 0;
    if (G(VMCS_EXIT_CONTROLS) & EXIT_ACK_INTR_ON_EXIT) {
        int vec = vcpu_take_irq(v);
        if (vec < 0)
            return;
        info = INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint32_t)vec;
    }
    reflect_synthetic(v, EXIT_EXTERNAL_INTERRUPT, 0, info);
}

/* ---- lazily saved guest state ----------------------------------------------- */

void nested_sync_guest(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (!n->guest_stale)
        return;
    if (!n->in_l2)
        vmptrld(n->vmcs02_pa);
    vmcs02_get_rare(v);
    if (!n->in_l2)
        vmptrld(n->vmcs01_pa);
    n->guest_stale = false;
}

void nested_vmcs12_sync(struct vcpu *v, uint64_t enc)
{
    struct vcpu_nested *n = &v->nested;
    if (n->shadow_live)
        shadow_to_vmcs12(v, true);
    /* The entry controls hold exit state too: "IA-32e mode guest" takes
     * EFER.LMA at every VM exit (SDM 28.2), which the lazy save writes;
     * it must land before L1's access, never over L1's VMWRITE. */
    if (n->guest_stale && (vmcs_enc_type(enc) == VMCS_T_GUEST || enc == VMCS_ENTRY_CONTROLS))
        nested_sync_guest(v);
}

void nested_vmcs12_written(struct vcpu *v, uint32_t enc)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t full = enc & ~1u;
    if (!vmcs02_field_is_hot(full))
        nested_mark_rare(n);
    if (n->shadow_live && shadow_field(full))
        shadow_put(v, full, vmcs12_get(n->vmcs12, full));
}

void nested_vmcs12_release(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    nested_sync_guest(v);
    if (n->shadow_live)
        shadow_to_vmcs12(v, true);
    n->vmcs02_of = 0;       /* L1 may edit the region before loading it again */
}

/* ---- accounting ------------------------------------------------------------ */

void nested_account(struct vcpu *v, unsigned reason, uint64_t t_entry, uint64_t t_exit,
                    uint64_t t_prev_exit)
{
    struct nested_acct *a = &v->nested.acct;
    /* L0's time from the previous exit to this run's entry. */
    if (a->charge)
        a->row[a->charge - 1].l0_cycles += t_entry - t_prev_exit;
    a->charge = 0;
    if (v->nested.in_l2) {
        a->open = 0;            /* L2 ran again: the episode is over */
        if (reason < NESTED_ACCT_REASONS) {
            a->row[reason].l2_exits++;
            a->row[reason].l0_exits++;
            a->charge = reason + 1;
        }
    } else if (a->open) {
        a->row[a->open - 1].l0_exits++;
        a->row[a->open - 1].l1_cycles += t_exit - t_entry;
        a->charge = a->open;
    }
}

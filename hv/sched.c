/* Round-robin over runnable vCPUs; the VMX-preemption timer ends a slice. */
#include "sched.h"
#include "console.h"
#include "exit.h"
#include "pml.h"
#include "spp.h"
#include "power.h"
#include "vcpu.h"
#include "vmx.h"
#include "x86.h"

#define MAX_RUNQ (HV_MAX_DOMAINS * HV_MAX_VCPUS)

uint64_t sched_slice_tsc = 2000000;

int vmx_enter(struct guest_regs *regs, int launched);

static struct vcpu *runq[MAX_RUNQ];
static unsigned nr_runq;
static struct vcpu *current;        /* its VMCS is the current VMCS */
static unsigned cur_idx;
static bool new_slice;

/* Local APIC timers: the earliest next interrupt over all vCPUs, and
 * whether it moved earlier since the running vCPU's slice was armed. */
static uint64_t timer_next = LAPIC_NEVER;
static bool timer_earlier;
/* A timer due sooner than this still lets the guest run this many TSC
 * cycles first, so a short periodic timer cannot starve it. */
#define TIMER_MIN_RUN 1000

void sched_add(struct vcpu *v)
{
    if (nr_runq < MAX_RUNQ)
        runq[nr_runq++] = v;
}

static void timers_recompute(void)
{
    uint64_t next = LAPIC_NEVER;
    for (unsigned i = 0; i < nr_runq; i++)
        next = MIN(next, runq[i]->timer_deadline);
    if (next < timer_next)
        timer_earlier = true;
    timer_next = next;
}

void sched_timer_changed(struct vcpu *v)
{
    uint64_t d = lapic_timer_next(&v->lapic);
    if (d == v->timer_deadline)
        return;
    v->timer_deadline = d;
    timers_recompute();
}

/* Raises the APIC timer interrupts that are due (waking halted vCPUs). */
static void fire_timers(void)
{
    for (unsigned i = 0; i < nr_runq; i++) {
        struct vcpu *v = runq[i];
        uint64_t now = vcpu_guest_tsc(v);
        if (v->timer_deadline <= now) {
            lapic_timer_advance(&v->lapic, now);
            vcpu_lapic_sync(v);
        }
    }
}

/* Nothing is runnable.  The earliest APIC timer interrupt that will wake
 * a halted vCPU which can then run (its domain not paused), or
 * LAPIC_NEVER: a paused domain's timer wakes nobody. */
static uint64_t next_waking_timer(void)
{
    uint64_t next = LAPIC_NEVER;
    for (unsigned i = 0; i < nr_runq; i++) {
        const struct vcpu *v = runq[i];
        if (v->state == VCPU_BLOCKED && v->dom->pause_count == 0 && v->dom->state == DOM_RUNNING)
            next = MIN(next, v->timer_deadline);
    }
    return next;
}

/* Nothing is runnable but a timer will wake someone: wait for it (the
 * loop then raises it). */
static void wait_until(uint64_t tsc)
{
    while (rdtsc() < tsc)
        cpu_relax();
}

/* The VMX-preemption timer value for the rest of a slice ending at
 * slice_end: earlier if an APIC timer is due before. */
static uint32_t preemption_value(uint64_t slice_left)
{
    uint64_t t = slice_left;
    if (unlikely(timer_next != LAPIC_NEVER)) {
        uint64_t now = rdtsc();
        uint64_t until = timer_next > now ? timer_next - now : 0;
        t = MIN(t, MAX(until, (uint64_t)TIMER_MIN_RUN));
    }
    return (uint32_t)(t >> vmx_caps.preemption_shift);
}

/* An APIC timer became due sooner while v's slice runs: shorten it. */
static void shorten_slice(struct vcpu *v)
{
    uint32_t val = preemption_value(sched_slice_tsc);
    uint32_t cur = (uint32_t)vmread(VMCS_PREEMPTION_TIMER);
    if (val >= cur)
        return;
    vmwrite(VMCS_PREEMPTION_TIMER, val);
    if (v->nested.in_l2)
        nested_l0_timer_lowered(v, cur - val);
}

void sched_remove(struct vcpu *v)
{
    for (unsigned i = 0; i < nr_runq; i++) {
        if (runq[i] != v)
            continue;
        for (unsigned j = i; j + 1 < nr_runq; j++)
            runq[j] = runq[j + 1];
        nr_runq--;
        if (cur_idx > i || cur_idx >= nr_runq)
            cur_idx = cur_idx ? cur_idx - 1 : 0;
        break;
    }
    v->state = VCPU_DEAD;
    v->timer_deadline = LAPIC_NEVER;
    timers_recompute();
    if (v == current)
        current = NULL;     /* its VMCS is about to be cleared */
}

static bool runnable(const struct vcpu *v)
{
    return v->state == VCPU_RUNNABLE && v->dom->pause_count == 0 &&
           v->dom->state == DOM_RUNNING;
}

void sched_yield(struct vcpu *v) { new_slice = true; (void)v; }
void sched_block(struct vcpu *v) { v->state = VCPU_BLOCKED; }
void sched_wake(struct vcpu *v) { if (v->state == VCPU_BLOCKED) v->state = VCPU_RUNNABLE; }

/* Ends the run: every domain has ended. */
static __attribute__((noreturn)) void all_ended(void)
{
    unsigned total = 0, ok = 0;
    for (unsigned i = 0; i < HV_MAX_DOMAINS; i++) {
        if (!domains[i].used)
            continue;
        total++;
        ok += domain_ok(&domains[i]);
    }
    char why[96];
    snprintf(why, sizeof(why), "%u domain(s), %u ok, %u failed, %u module(s) rejected",
             total, ok, total - ok, domains_rejected);
    /* A module that could not become a domain counts as a failure. */
    power_off(total == 0 ? NESTOR_EXIT_NO_DOMAINS :
              ok == total && !domains_rejected ? NESTOR_EXIT_OK : NESTOR_EXIT_DOMAIN_FAILED, why);
}

/* Nothing runnable but vCPUs remain: they are halted or paused and nothing
 * in the system can wake them any more. */
static void end_stuck_domains(void)
{
    while (nr_runq) {
        struct vcpu *v = runq[0];
        if (v->state == VCPU_BLOCKED)
            domain_crash(v->dom, "halted (HLT or SCHEDOP_block) with nothing left to wake it");
        else
            domain_crash(v->dom, "paused with no running domain left to unpause it");
    }
}

static struct vcpu *pick(void)
{
    if (current && runnable(current) && !new_slice)
        return current;
    if (!nr_runq)
        return NULL;
    /* With no current vCPU (at boot, or after one ended) the candidate at
     * cur_idx has not had its turn yet: start there. */
    for (unsigned n = current ? 1 : 0; n <= nr_runq; n++) {
        unsigned i = (cur_idx + n) % nr_runq;
        if (runnable(runq[i])) {
            cur_idx = i;
            new_slice = true;
            return runq[i];
        }
    }
    return NULL;
}

void vmcs_borrow(struct vcpu *v)
{
    if (v != current)
        vmptrld(v->vmcs_pa);
}

void vmcs_return(struct vcpu *v)
{
    if (v != current && current)
        vmptrld(current->vmcs_pa);
}

static void switch_to(struct vcpu *v)
{
    if (current) {
        pml_vcpu_switch_out(current);
        vcpu_save_state(current);
    }
    if (vmptrld(v->vmcs_pa)) {
        hv_err("VMPTRLD of vCPU %u.%u failed", v->dom->id, v->id);
        power_off(NESTOR_EXIT_PANIC, "VMPTRLD failed");
    }
    vcpu_load_state(v);
    current = v;
}

static void entry_failed(struct vcpu *v, int rc)
{
    if (rc == 2) {
        uint32_t err = (uint32_t)vmread(VMCS_INSTR_ERROR);
        domain_crash(v->dom, "VM entry failed: VMfailValid, error %u (%s)", err,
                     vmx_instr_error_name(err));
    } else {
        domain_crash(v->dom, "VM entry failed: VMfailInvalid");
    }
}

void sched_run(void)
{
    struct vcpu *charge = NULL;
    unsigned charge_reason = 0;
    uint64_t t_exit = 0;

    for (;;) {
        if (unlikely(timer_next != LAPIC_NEVER) && rdtsc() >= timer_next)
            fire_timers();
        struct vcpu *v = pick();
        if (!v) {
            if (!nr_runq)
                all_ended();
            uint64_t wake = next_waking_timer();
            if (wake != LAPIC_NEVER)
                wait_until(wake);
            else
                end_stuck_domains();
            continue;
        }
        if (v != current)
            switch_to(v);
        /* A nested domain's vCPU may be running L2 (vmcs02): L0's PML and
         * SPP are not in vmcs02; L0 tracks L2's writes through EPT02. */
        bool nested = v->dom->cfg.nested;
        if (unlikely(nested) && v->nested.in_l2)
            nested_before_l2_entry(v);
        if (likely(!nested) || !v->nested.in_l2) {
            pml_vcpu_sync(v);
            spp_vmcs_sync(v);
        }
        if (unlikely(v->irq_any))
            vcpu_deliver_irqs(v);
        if (new_slice) {
            uint32_t slice = preemption_value(sched_slice_tsc);
            if (unlikely(nested) && v->nested.in_l2)
                nested_new_slice(v, slice);     /* L1's timer for L2 may end first */
            else
                vmwrite(VMCS_PREEMPTION_TIMER, slice);
            new_slice = false;
            timer_earlier = false;
        } else if (unlikely(timer_earlier)) {
            shorten_slice(v);
            timer_earlier = false;
        }
        /* hv time of the previous exit: from its VM exit to this entry. */
        if (charge) {
            charge->exits[charge_reason].cycles += rdtsc() - t_exit;
            charge = NULL;
        }
        /* The entry time matters only to nested accounting. */
        uint64_t t_prev_exit = t_exit, t_entry = unlikely(nested) ? rdtsc() : 0;
        int rc = vmx_enter(&v->regs, v->launched);
        t_exit = rdtsc();
        if (rc) {
            if (unlikely(nested) && v->nested.in_l2)
                nested_l2_entry_failed(v, rc);
            else
                entry_failed(v, rc);
            continue;
        }
        uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
        unsigned basic = reason & 0xffff;
        /* A failed entry leaves the launch state as it was (SDM 27.8). */
        if (likely(!(reason & EXIT_REASON_ENTRY_FAILURE)))
            v->launched = true;
        if (unlikely(nested)) {
            nested_account(v, basic, t_entry, t_exit, t_prev_exit);
            if (v->nested.in_l2) {
                nested_l2_exit(v, reason);      /* counted in its own statistics */
                continue;
            }
        }
        if (basic < NESTOR_NR_EXIT_REASONS) {
            v->exits[basic].count++;
            charge = v;
            charge_reason = basic;
        }
        exit_dispatch(v, reason);
    }
}

/* Round-robin scheduling of vCPUs with the VMX-preemption timer, and the
 * hv's main loop (enter guest, dispatch exit, repeat). */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include "domain.h"

extern uint64_t sched_slice_tsc;        /* time slice in TSC cycles */

void sched_add(struct vcpu *v);
void sched_remove(struct vcpu *v);
/* Gives up the rest of the current slice. */
void sched_yield(struct vcpu *v);
/* Blocks v until it is woken (or found to be stuck). */
void sched_block(struct vcpu *v);
void sched_wake(struct vcpu *v);
/* v's local APIC timer may have a new next interrupt (lapic_timer_next):
 * the scheduler wakes v then, even from HLT, and cuts the running vCPU's
 * slice short so the interrupt is not late by more than a little. */
void sched_timer_changed(struct vcpu *v);
/* Makes another vCPU's VMCS current for a moment (to read or change it
 * from a hypercall of some other domain), then restores the current one. */
void vmcs_borrow(struct vcpu *v);
void vmcs_return(struct vcpu *v);
/* Runs guests until every domain has ended; never returns. */
__attribute__((noreturn)) void sched_run(void);

#endif

/* Operations on the current vCPU's guest state. */
#ifndef HV_VCPU_H
#define HV_VCPU_H

#include "domain.h"

/* Advances RIP past the exiting instruction (and ends STI/MOV-SS blocking). */
void vcpu_skip_instruction(struct vcpu *v);
/* Queues a hardware exception for the next VM entry. */
void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error);
static inline void vcpu_inject_gp0(struct vcpu *v) { vcpu_inject_exception(v, 13, true, 0); }
static inline void vcpu_inject_ud(struct vcpu *v) { vcpu_inject_exception(v, 6, false, 0); }
/* Interrupts go through the vCPU's local APIC (lapic.h): one model for
 * every source (Nestor's virtual interrupts, self-IPIs, the APIC timer).
 *
 * Makes `vector` pending (an edge-triggered fixed interrupt into IRR); it
 * is delivered when the APIC's priorities and the guest allow, and wakes a
 * halted v.  Vectors 0-15 are illegal (an APIC error, nothing pending). */
void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
/* Acknowledges the vector the APIC presents (IRR -> ISR, as the CPU's
 * interrupt acknowledge does) and returns it, or -1: an interrupt
 * acknowledged on a VM exit to an L1 hypervisor. */
int vcpu_take_irq(struct vcpu *v);
/* Before VM entry (VMCS current): inject the vector the APIC presents if
 * the guest accepts interrupts now, else ask for an interrupt-window exit. */
void vcpu_deliver_irqs(struct vcpu *v);
/* After any change to v's local APIC: recompute what it presents (waking
 * v if it presents a vector) and tell the scheduler its timer deadline.
 * Needs no VMCS. */
void vcpu_lapic_sync(struct vcpu *v);
/* The APIC timer's clock: the host TSC, so that a guest's write of its
 * own TSC (vcpu_set_tsc) does not move its APIC timers (the APIC timer
 * counts the bus clock, not the TSC). */
static inline uint64_t vcpu_guest_tsc(struct vcpu *v) { (void)v; return __builtin_ia32_rdtsc(); }
/* WRMSR IA32_TSC by v's guest (or a VM-entry/exit MSR-load list of an L1
 * hypervisor): v's TSC reads val now; kept as a TSC offset. */
void vcpu_set_tsc(struct vcpu *v, uint64_t val);
/* Advances RIP by len bytes (an instruction the hv emulated whose length
 * the exit does not report) and ends STI/MOV-SS blocking. */
void vcpu_advance_rip(struct vcpu *v, unsigned len);
/* General-purpose register r (SDM numbering) of the current VMCS's guest:
 * RSP lives in the VMCS, the others in v->regs. */
uint64_t vcpu_gpr(struct vcpu *v, unsigned r);
void vcpu_set_gpr(struct vcpu *v, unsigned r, uint64_t val);
/* Current privilege level (SS.DPL). */
unsigned vcpu_cpl(void);
uint64_t vcpu_rip(void);
/* Loads/saves the guest state VMX does not switch (CR2, DRs, FPU, MSRs). */
void vcpu_load_state(struct vcpu *v);
void vcpu_save_state(struct vcpu *v);

#endif

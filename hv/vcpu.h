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
/* Makes an external-interrupt vector (32-255) pending for v; it is
 * delivered when the guest can take interrupts, and wakes a halted v. */
void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
/* Removes and returns the highest pending vector, or -1 (an interrupt
 * acknowledged on a VM exit to an L1 hypervisor). */
int vcpu_take_irq(struct vcpu *v);
/* Before VM entry (VMCS current): inject the highest pending vector if the
 * guest accepts interrupts now, else ask for an interrupt-window exit. */
void vcpu_deliver_irqs(struct vcpu *v);
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

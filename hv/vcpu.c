/* Guest-state helpers for exit handlers, and the state the hv switches by
 * hand because the VMCS does not hold it. */
#include "vcpu.h"
#include "sched.h"
#include "vmx.h"
#include "x86.h"

uint64_t vcpu_rip(void)
{
    return vmread(VMCS_GUEST_RIP);
}

void vcpu_skip_instruction(struct vcpu *v)
{
    vcpu_advance_rip(v, (unsigned)vmread(VMCS_EXIT_INSTR_LEN));
}

void vcpu_set_tsc(struct vcpu *v, uint64_t val)
{
    v->tsc_offset = val - rdtsc();
    if (v->dom->cfg.nested)
        nested_tsc_offset_changed(v);       /* vmcs02 adds L1's offset */
    else
        vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
}

void vcpu_advance_rip(struct vcpu *v, unsigned len)
{
    (void)v;
    vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + len);
    uint64_t intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
    uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
    /* No error code is pushed in real mode (unrestricted guest, CR0.PE=0). */
    if (has_error && (vmread(VMCS_GUEST_CR0) & CR0_PE)) {
        info |= INTR_INFO_DELIVER_ERROR;
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
    }
    vmwrite(VMCS_ENTRY_INTR_INFO, info);
}

uint64_t vcpu_gpr(struct vcpu *v, unsigned r)
{
    return r == R_SP ? vmread(VMCS_GUEST_RSP) : v->regs.gpr[r];
}

void vcpu_set_gpr(struct vcpu *v, unsigned r, uint64_t val)
{
    if (r == R_SP)
        vmwrite(VMCS_GUEST_RSP, val);
    else
        v->regs.gpr[r] = val;
}

unsigned vcpu_cpl(void)
{
    return (vmread(VMCS_GUEST_SS_AR) >> 5) & 3;
}

void vcpu_load_state(struct vcpu *v)
{
    write_cr2(v->cr2);
    write_dr0(v->dr[0]);
    write_dr1(v->dr[1]);
    write_dr2(v->dr[2]);
    write_dr3(v->dr[3]);
    write_dr6(v->dr6);
    wrmsr(MSR_IA32_KERNEL_GS_BASE, v->kernel_gs_base);
    wrmsr(MSR_IA32_STAR, v->star);
    wrmsr(MSR_IA32_LSTAR, v->lstar);
    wrmsr(MSR_IA32_CSTAR, v->cstar);
    wrmsr(MSR_IA32_FMASK, v->fmask);
    wrmsr(MSR_IA32_TSC_AUX, v->tsc_aux);
    __asm__ volatile("fxrstor64 %0" : : "m"(v->fxsave));
}

void vcpu_save_state(struct vcpu *v)
{
    v->cr2 = read_cr2();
    v->dr[0] = read_dr0();
    v->dr[1] = read_dr1();
    v->dr[2] = read_dr2();
    v->dr[3] = read_dr3();
    v->dr6 = read_dr6();
    v->kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    v->star = rdmsr(MSR_IA32_STAR);
    v->lstar = rdmsr(MSR_IA32_LSTAR);
    v->cstar = rdmsr(MSR_IA32_CSTAR);
    v->fmask = rdmsr(MSR_IA32_FMASK);
    v->tsc_aux = rdmsr(MSR_IA32_TSC_AUX);
    __asm__ volatile("fxsave64 %0" : "=m"(v->fxsave));
}

void vcpu_lapic_sync(struct vcpu *v)
{
    v->irq_any = lapic_pending(&v->lapic) >= 0;
    if (v->irq_any)
        sched_wake(v);
    sched_timer_changed(v);
}

void vcpu_raise_irq(struct vcpu *v, uint8_t vector)
{
    lapic_accept(&v->lapic, vector);
    vcpu_lapic_sync(v);
}

int vcpu_take_irq(struct vcpu *v)
{
    int vec = lapic_ack(&v->lapic);
    vcpu_lapic_sync(v);
    return vec;
}

static void set_window_exiting(uint64_t proc, bool on)
{
    bool is_on = proc & PROC_INTR_WINDOW_EXITING;
    if (on != is_on)
        vmwrite(VMCS_PROC_CONTROLS, on ? proc | PROC_INTR_WINDOW_EXITING
                                       : proc & ~(uint64_t)PROC_INTR_WINDOW_EXITING);
}

void vcpu_deliver_irqs(struct vcpu *v)
{
    uint64_t proc = vmread(VMCS_PROC_CONTROLS);
    if (lapic_pending(&v->lapic) < 0) {
        v->irq_any = false;
        set_window_exiting(proc, false);
        return;
    }
    bool open = (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
                !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
                !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
    if (!open) {
        set_window_exiting(proc, true);
        return;
    }
    /* The CPU takes the vector: it moves to ISR, and PPR rises with it. */
    int vec = lapic_ack(&v->lapic);
    vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint32_t)vec);
    if (vmread(VMCS_GUEST_ACTIVITY_STATE) != ACTIVITY_ACTIVE)
        vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    v->irq_any = lapic_pending(&v->lapic) >= 0;
    /* Another vector above the new PPR waits for the next window. */
    set_window_exiting(proc, v->irq_any);
}

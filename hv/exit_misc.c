/* Exits with small handlers: HLT, interrupts, NMI/#MC, the preemption
 * timer, triple fault, failed VM entries, and instructions that are
 * refused to guests. */
#include "exit.h"
#include "console.h"
#include "sched.h"
#include "vcpu.h"
#include "vmcs_check.h"
#include "vmx.h"
#include "x86.h"

void handle_hlt(struct vcpu *v)
{
    vcpu_skip_instruction(v);
    if (!(vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF)) {
        /* cli; hlt: the guest has stopped for good. */
        domain_crash(v->dom, "halted with interrupts disabled at rip %#lx", vcpu_rip() - 1);
        return;
    }
    /* A vector already pending ends the halt at once. */
    if (!v->irq_any)
        sched_block(v);
}

void handle_interrupt_window(struct vcpu *v)
{
    /* The guest can take interrupts again: inject the vector the APIC
     * presents, or turn window exiting off if it presents none any more
     * (a TPR write may have held it back since). */
    vcpu_deliver_irqs(v);
}

void handle_external_interrupt(struct vcpu *v)
{
    /* Acknowledged on exit; the hv has no interrupt sources of its own
     * (the PIC is masked), so this is a stray: count it and EOI. */
    uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
    unsigned vec = info & 0xff;
    hv_debug("stray external interrupt vector %u during domain %u", vec, v->dom->id);
    if (vec >= 0x20 && vec < 0x30) {
        if (vec >= 0x28)
            outb(0xa0, 0x20);
        outb(0x20, 0x20);
    } else {
        *(volatile uint32_t *)(uintptr_t)0xfee000b0 = 0;   /* local APIC EOI */
    }
}

void handle_exception_nmi(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
    if ((info & (7u << 8)) == INTR_TYPE_NMI)
        return;     /* the hv has no use for NMIs: drop it */
    unsigned vec = info & 0xff;
    if (vec == X86_EXC_MC) {
        domain_crash(v->dom, "machine check at rip %#lx", vcpu_rip());
        return;
    }
    /* Only #MC is in the exception bitmap. */
    domain_crash(v->dom, "unexpected exception %u exit at rip %#lx", vec, vcpu_rip());
}

void handle_preemption_timer(struct vcpu *v)
{
    sched_yield(v);
}

void handle_triple_fault(struct vcpu *v)
{
    domain_crash(v->dom, "triple fault at rip %#lx", vcpu_rip());
}

void handle_entry_failure(struct vcpu *v, uint32_t full_reason)
{
    static const char *const quals[] = {
        [0] = "", [2] = "PDPTE loading", [3] = "NMI injection", [4] = "VMCS link pointer",
    };
    unsigned reason = full_reason & 0xffff;
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    char check[96];
    if (reason == EXIT_ENTRY_FAIL_GUEST) {
        vmcs_check_guest_state(check, sizeof(check));
        domain_crash(v->dom, "VM entry failed: invalid guest state%s%s; %s",
                     q < ARRAY_SIZE(quals) && quals[q] && *quals[q] ? ", " : "",
                     q < ARRAY_SIZE(quals) && quals[q] ? quals[q] : "", check);
    } else if (reason == EXIT_ENTRY_FAIL_MSR) {
        domain_crash(v->dom, "VM entry failed: MSR loading, entry %lu", q);
    } else {
        domain_crash(v->dom, "VM entry failed: reason %u", reason);
    }
}

void handle_invd_wbinvd(struct vcpu *v)
{
    /* Guest caches are the host's caches: write-back is harmless, and INVD
     * (which would lose other domains' data) becomes a write-back too. */
    __asm__ volatile("wbinvd" ::: "memory");
    vcpu_skip_instruction(v);
}

void handle_inject_ud(struct vcpu *v)
{
    vcpu_inject_ud(v);
}

void handle_rdpmc(struct vcpu *v)
{
    /* No performance counters are exposed (CPUID leaf 0xa is zero). */
    vcpu_inject_gp0(v);
}

/* Routes every VM exit to its handler.  An exit without a handler kills
 * only the domain that caused it. */
#include "exit.h"
#include "pml.h"
#include "spp.h"
#include "nested.h"
#include "console.h"
#include "stats.h"
#include "vcpu.h"
#include "vmx.h"

static const exit_handler_t handlers[NESTOR_NR_EXIT_REASONS] = {
    [EXIT_EXCEPTION_NMI] = handle_exception_nmi,
    [EXIT_EXTERNAL_INTERRUPT] = handle_external_interrupt,
    [EXIT_TRIPLE_FAULT] = handle_triple_fault,
    [EXIT_CPUID] = handle_cpuid,
    [EXIT_HLT] = handle_hlt,
    [EXIT_INTERRUPT_WINDOW] = handle_interrupt_window,
    [EXIT_INVD] = handle_invd_wbinvd,
    [EXIT_WBINVD] = handle_invd_wbinvd,
    [EXIT_RDPMC] = handle_rdpmc,
    [EXIT_VMCALL] = handle_vmcall,
    /* VMX instructions: emulated for domains with nested=1 (nested/), #UD
     * for the others, as on a CPU without VMX. */
    [EXIT_VMCLEAR] = nested_vmclear, [EXIT_VMLAUNCH] = nested_vmlaunch,
    [EXIT_VMPTRLD] = nested_vmptrld, [EXIT_VMPTRST] = nested_vmptrst,
    [EXIT_VMREAD] = nested_vmread, [EXIT_VMRESUME] = nested_vmresume,
    [EXIT_VMWRITE] = nested_vmwrite, [EXIT_VMXOFF] = nested_vmxoff,
    [EXIT_VMXON] = nested_vmxon, [EXIT_INVEPT] = nested_invept,
    [EXIT_INVVPID] = nested_invvpid,
    /* Absent features raise #UD, as on such a CPU. */
    [EXIT_VMFUNC] = handle_inject_ud,
    [EXIT_GETSEC] = handle_inject_ud, [EXIT_MWAIT] = handle_inject_ud,
    [EXIT_MONITOR] = handle_inject_ud, [EXIT_XSETBV] = handle_inject_ud,
    [EXIT_CR_ACCESS] = handle_cr_access,
    [EXIT_IO] = handle_io,
    [EXIT_RDMSR] = handle_rdmsr,
    [EXIT_WRMSR] = handle_wrmsr,
    [EXIT_EPT_VIOLATION] = handle_ept_violation,
    [EXIT_EPT_MISCONFIG] = handle_ept_misconfig,
    [EXIT_PREEMPTION_TIMER] = handle_preemption_timer,
    [EXIT_PML_FULL] = handle_pml_full,
    [EXIT_SPP_EVENT] = handle_spp_event,
};

exit_handler_t exit_handler_for(unsigned reason)
{
    return reason < NESTOR_NR_EXIT_REASONS ? handlers[reason] : NULL;
}

/* An exit that interrupted event delivery (SDM 27.2.4) must deliver that
 * event again, unless the handler queued something of its own. */
static void reinject_vectoring(uint32_t idt)
{
    if (vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)
        return;
    vmwrite(VMCS_ENTRY_INTR_INFO, idt & ~(uint32_t)BIT(12));
    if (idt & INTR_INFO_DELIVER_ERROR)
        vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
    vmwrite(VMCS_ENTRY_INSTR_LEN, vmread(VMCS_EXIT_INSTR_LEN));
}

void exit_dispatch(struct vcpu *v, uint32_t full_reason)
{
    unsigned reason = full_reason & 0xffff;

    if (unlikely(full_reason & EXIT_REASON_ENTRY_FAILURE)) {
        handle_entry_failure(v, full_reason);
        return;
    }
    uint32_t idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
    exit_handler_t h = exit_handler_for(reason);
    if (unlikely(!h)) {
        domain_crash(v->dom, "unhandled VM exit %u (%s) at rip %#lx, qualification %#lx",
                     reason, exit_reason_name(reason), vcpu_rip(),
                     vmread(VMCS_EXIT_QUALIFICATION));
        return;
    }
    h(v);
    if (unlikely(idt & INTR_INFO_VALID) && v->state != VCPU_DEAD)
        reinject_vectoring(idt);
}

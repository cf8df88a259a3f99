/* The exit dispatcher: one table from basic exit reason to handler. */
#ifndef HV_EXIT_H
#define HV_EXIT_H

#include "domain.h"

#define EXIT_REASON_ENTRY_FAILURE BIT(31)

enum exit_reason {
    EXIT_EXCEPTION_NMI = 0, EXIT_EXTERNAL_INTERRUPT = 1, EXIT_TRIPLE_FAULT = 2,
    EXIT_INIT = 3, EXIT_SIPI = 4, EXIT_INTERRUPT_WINDOW = 7, EXIT_CPUID = 10, EXIT_GETSEC = 11, EXIT_HLT = 12,
    EXIT_INVD = 13, EXIT_RDPMC = 15, EXIT_VMCALL = 18, EXIT_VMCLEAR = 19,
    EXIT_VMLAUNCH = 20, EXIT_VMPTRLD = 21, EXIT_VMPTRST = 22, EXIT_VMREAD = 23,
    EXIT_VMRESUME = 24, EXIT_VMWRITE = 25, EXIT_VMXOFF = 26, EXIT_VMXON = 27,
    EXIT_CR_ACCESS = 28, EXIT_IO = 30, EXIT_RDMSR = 31, EXIT_WRMSR = 32,
    EXIT_ENTRY_FAIL_GUEST = 33, EXIT_ENTRY_FAIL_MSR = 34, EXIT_MWAIT = 36,
    EXIT_MONITOR = 39, EXIT_ENTRY_FAIL_MCE = 41, EXIT_LDTR_TR = 47, EXIT_EPT_VIOLATION = 48,
    EXIT_EPT_MISCONFIG = 49, EXIT_INVEPT = 50, EXIT_PREEMPTION_TIMER = 52,
    EXIT_INVVPID = 53, EXIT_WBINVD = 54, EXIT_XSETBV = 55, EXIT_VMFUNC = 59,
    EXIT_PML_FULL = 62, EXIT_SPP_EVENT = 66,
};

typedef void (*exit_handler_t)(struct vcpu *v);

/* Handles one VM exit of v (its VMCS is current). */
void exit_dispatch(struct vcpu *v, uint32_t full_reason);
/* The handler for a basic reason, or NULL (unit-tested table). */
exit_handler_t exit_handler_for(unsigned reason);

/* The MSRs the hv emulates for a guest (current VMCS), as RDMSR/WRMSR
 * would see them: false for #GP. */
bool hv_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
bool hv_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);

/* Handlers, one file per concern. */
void handle_cpuid(struct vcpu *v);
void handle_io(struct vcpu *v);
void handle_rdmsr(struct vcpu *v);
void handle_wrmsr(struct vcpu *v);
void handle_cr_access(struct vcpu *v);
void handle_ept_violation(struct vcpu *v);
void handle_ept_misconfig(struct vcpu *v);
void handle_vmcall(struct vcpu *v);
void handle_hlt(struct vcpu *v);
void handle_interrupt_window(struct vcpu *v);
void handle_external_interrupt(struct vcpu *v);
void handle_exception_nmi(struct vcpu *v);
void handle_preemption_timer(struct vcpu *v);
void handle_triple_fault(struct vcpu *v);
void handle_entry_failure(struct vcpu *v, uint32_t full_reason);
void handle_invd_wbinvd(struct vcpu *v);
void handle_inject_ud(struct vcpu *v);
void handle_rdpmc(struct vcpu *v);

/* The local APIC page (exit_apic.c): does this EPT violation (qualification
 * q) touch v's enabled APIC page, and its emulation. */
bool lapic_mmio_claims(struct vcpu *v, uint64_t gpa, uint64_t q);
void lapic_mmio_exit(struct vcpu *v, uint64_t gpa, uint64_t q);

#endif

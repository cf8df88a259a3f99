/* MSR accesses on behalf of L1 and L2 that do not come from RDMSR/WRMSR
 * exits of L1: the VM-entry MSR-load list (SDM 27.4), the VM-exit
 * MSR-store and MSR-load lists (28.4, 28.6), and L2's RDMSR/WRMSR of MSRs
 * L1 lets through.  The vCPU has one set of MSRs: L0 passes some to L1
 * (domain.c), kept in the VMCS (FS/GS base, SYSENTER) or in the CPU
 * (switched by the hv on vCPU switch); the rest L0 emulates (exit_msr.c). */
#include "nested_internal.h"
#include "vmcs12_index.h"
#include "console.h"
#include "domain.h"
#include "exit.h"
#include "vmx.h"
#include "x86.h"

#define G(enc) V12(n->vmcs12, (enc))

/* An MSR of the current VMCS's guest, as RDMSR/WRMSR at CPL 0 would see
 * it.  Returns false for #GP. */
bool nested_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *val)
{
    uint32_t field = 0;
    switch (msr) {
    case MSR_IA32_FS_BASE:      field = VMCS_GUEST_FS_BASE; break;
    case MSR_IA32_GS_BASE:      field = VMCS_GUEST_GS_BASE; break;
    case MSR_IA32_SYSENTER_CS:  field = VMCS_GUEST_SYSENTER_CS; break;
    case MSR_IA32_SYSENTER_ESP: field = VMCS_GUEST_SYSENTER_ESP; break;
    case MSR_IA32_SYSENTER_EIP: field = VMCS_GUEST_SYSENTER_EIP; break;
    case MSR_IA32_KERNEL_GS_BASE: case MSR_IA32_STAR: case MSR_IA32_LSTAR:
    case MSR_IA32_CSTAR: case MSR_IA32_FMASK: case MSR_IA32_TSC_AUX:
        break;
    default:
        return write ? hv_msr_write(v, msr, *val) : hv_msr_read(v, msr, val);
    }
    if (!write) {
        *val = field ? vmread(field) : rdmsr(msr);
        return true;
    }
    bool address = msr == MSR_IA32_FS_BASE || msr == MSR_IA32_GS_BASE ||
                   msr == MSR_IA32_SYSENTER_ESP || msr == MSR_IA32_SYSENTER_EIP ||
                   msr == MSR_IA32_KERNEL_GS_BASE || msr == MSR_IA32_LSTAR || msr == MSR_IA32_CSTAR;
    if ((address && !is_canonical48(*val)) || (msr == MSR_IA32_TSC_AUX && (*val >> 32)))
        return false;
    if (field)
        vmwrite(field, *val);
    else
        wrmsr(msr, *val);
    return true;
}

struct msr_entry {
    uint32_t index, reserved;
    uint64_t data;
};

/* The per-entry checks every list makes (27.4, 28.4, 28.6): reserved
 * bits, the x2APIC range, SMM MSRs; FS/GS base may not be loaded from a
 * list (VM entry), SMBASE may not be stored. */
static bool entry_ok(const struct msr_entry *e, bool load)
{
    if (e->reserved || (e->index >> 8) == 0x8 /* x2APIC */ || e->index == 0x9b /* SMM monitor */)
        return false;
    if (load && (e->index == MSR_IA32_FS_BASE || e->index == MSR_IA32_GS_BASE))
        return false;
    return !(!load && e->index == 0x9e /* SMBASE */);
}

static bool read_entry(struct vcpu *v, uint64_t base, unsigned i, struct msr_entry *e)
{
    uint64_t gpa = base + 16ull * i;
    return gpa < v->dom->mem_bytes && v->dom->mem_bytes - gpa >= sizeof(*e) &&
           !copy_from_gpa(v->dom, e, gpa, sizeof(*e));
}

/* Loads a list into the current VMCS's guest.  Returns 0, or the 1-based
 * number of the entry that failed. */
static unsigned load_list(struct vcpu *v, uint64_t base, uint32_t count)
{
    for (unsigned i = 0; i < count; i++) {
        struct msr_entry e;
        if (!read_entry(v, base, i, &e) || !entry_ok(&e, true) ||
            !nested_msr(v, e.index, true, &e.data))
            return i + 1;
    }
    return 0;
}

unsigned nested_entry_msr_load(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    return load_list(v, G(VMCS_ENTRY_MSR_LOAD_ADDR), (uint32_t)G(VMCS_ENTRY_MSR_LOAD_COUNT));
}

/* VMX abort (SDM 28.7): the indicator goes into the vmcs12 region and the
 * logical processor shuts down — here, the domain ends. */
static void vmx_abort(struct vcpu *v, uint32_t indicator)
{
    struct vcpu_nested *n = &v->nested;
    copy_to_gpa(v->dom, n->current_ptr + VMCS12_OFF_ABORT, &indicator, sizeof(indicator));
    domain_crash(v->dom, "VMX abort %u (%s)", indicator,
                 indicator == 1 ? "saving guest MSRs on VM exit" : "loading host MSRs on VM exit");
}

/* 28.4, with L2's VMCS current. */
bool nested_exit_msr_store(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint32_t count = (uint32_t)G(VMCS_EXIT_MSR_STORE_COUNT);
    uint64_t base = G(VMCS_EXIT_MSR_STORE_ADDR);
    for (unsigned i = 0; i < count; i++) {
        struct msr_entry e;
        if (!read_entry(v, base, i, &e) || !entry_ok(&e, false) ||
            !nested_msr(v, e.index, false, &e.data) ||
            copy_to_gpa(v->dom, base + 16ull * i + 8, &e.data, 8)) {
            vmx_abort(v, 1);
            return false;
        }
    }
    return true;
}

/* 28.6, with L1's VMCS current (after its host state is loaded). */
bool nested_exit_msr_load(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    if (load_list(v, G(VMCS_EXIT_MSR_LOAD_ADDR), (uint32_t)G(VMCS_EXIT_MSR_LOAD_COUNT))) {
        vmx_abort(v, 4);
        return false;
    }
    return true;
}

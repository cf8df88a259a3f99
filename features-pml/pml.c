/* Per-vCPU page-modification logs: enabling them in the VMCS, and draining
 * them into the domain's dirty bitmap. */
#include "pml.h"
#include "logdirty_internal.h"
#include "../hv/console.h"
#include "../hv/domain.h"
#include "../hv/pmm.h"
#include "../hv/sched.h"
#include "../hv/vmx.h"

/* Reads the log of v (whose VMCS is current) and rewinds its index. */
static void drain_current(struct vcpu *v)
{
    uint64_t idx = vmread(VMCS_GUEST_PML_INDEX) & 0xffff;
    const uint64_t *log = phys_to_virt(v->pml.buf_pa);
    /* The CPU logs at the index, then decrements: entries idx+1..511 are
     * new.  An index outside 0-511 means the log is full. */
    unsigned first = idx < PML_ENTRIES ? (unsigned)idx + 1 : 0;
    for (unsigned i = first; i < PML_ENTRIES; i++)
        pml_log(v, log[i]);
    if (first != PML_ENTRIES)
        vmwrite(VMCS_GUEST_PML_INDEX, PML_ENTRIES - 1);
    pml_flush_rearmed(v->dom);
}

void pml_flush_rearmed(struct domain *d)
{
    if (d->logdirty.need_flush) {
        d->logdirty.need_flush = false;
        domain_ept_flush(d);
    }
}

bool pml_wanted(const struct domain *d)
{
    return (d->logdirty.on && !d->logdirty.wp) || d->logdirty.nr_track;
}

void pml_log(struct vcpu *v, uint64_t gpa)
{
    struct domain *d = v->dom;
    if (d->logdirty.on)
        logdirty_mark(d, gpa);
    if (d->logdirty.nr_track)
        track_log(v, gpa);
}

static bool pml_active(const struct vcpu *v)
{
    return v->pml.buf_pa && v->pml.gen == v->dom->logdirty.gen && pml_wanted(v->dom);
}

void pml_vcpu_sync(struct vcpu *v)
{
    struct dom_logdirty *ld = &v->dom->logdirty;
    if (likely(v->pml.gen == ld->gen))
        return;
    uint64_t proc2 = vmread(VMCS_PROC_CONTROLS2);
    if (pml_wanted(v->dom) && v->pml.buf_pa) {
        vmwrite(VMCS_PML_ADDRESS, v->pml.buf_pa);
        vmwrite(VMCS_GUEST_PML_INDEX, PML_ENTRIES - 1);
        vmwrite(VMCS_PROC_CONTROLS2, proc2 | PROC2_ENABLE_PML);
    } else {
        vmwrite(VMCS_PROC_CONTROLS2, proc2 & ~(uint64_t)PROC2_ENABLE_PML);
    }
    v->pml.gen = ld->gen;
}

void pml_drain_vcpu_current(struct vcpu *v)
{
    if (pml_active(v))
        drain_current(v);
}

void pml_vcpu_switch_out(struct vcpu *v)
{
    pml_drain_vcpu_current(v);
}

void pml_drain_domain(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = &d->vcpu[i];
        if (!pml_active(v))
            continue;
        vmcs_borrow(v);
        drain_current(v);
        vmcs_return(v);
    }
}

void logdirty_pause(struct domain *d)
{
    pml_drain_domain(d);
}

void handle_pml_full(struct vcpu *v)
{
    /* The access that found the log full was not performed: draining and
     * resuming re-executes it, and it is logged then. */
    if (v->dom->logdirty.on)
        v->dom->logdirty.fault_count++;
    drain_current(v);
}

int pml_alloc_buffers(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = &d->vcpu[i];
        if (!v->pml.buf_pa && !(v->pml.buf_pa = pmm_alloc_zeroed_page()))
            return -1;
    }
    return 0;
}

void pml_free_buffers(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        if (d->vcpu[i].pml.buf_pa)
            pmm_free(d->vcpu[i].pml.buf_pa, 1);
        d->vcpu[i].pml.buf_pa = 0;
    }
}

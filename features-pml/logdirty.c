/* Log-dirty for domains with Xen's XEN_DOMCTL_shadow_op semantics, fed by
 * PML or by EPT write protection. */
#include "pml.h"
#include "logdirty_internal.h"
#include "spp.h"
#include "../hv/console.h"
#include "../hv/domain.h"
#include "../hv/ept.h"
#include "../hv/guest_mem.h"
#include "../hv/pmm.h"
#include "../hv/vmx.h"
#include "../hv/xen_abi.h"

#define XEN_EOPNOTSUPP 95

static uint64_t nr_pages(const struct domain *d)
{
    return d->mem_bytes / PAGE_SIZE;
}

void logdirty_mark(struct domain *d, uint64_t gpa)
{
    uint64_t pfn = gpa >> PAGE_SHIFT;
    struct dom_logdirty *ld = &d->logdirty;
    if (pfn >= nr_pages(d))
        return;
    uint64_t bit = BIT(pfn % 64);
    if (!(ld->bitmap[pfn / 64] & bit)) {
        ld->bitmap[pfn / 64] |= bit;
        ld->dirty_count++;
    }
}

void logdirty_hv_write(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (!d->logdirty.on || !len)
        return;
    for (uint64_t pfn = gpa >> PAGE_SHIFT; pfn <= (gpa + len - 1) >> PAGE_SHIFT; pfn++)
        logdirty_mark(d, pfn << PAGE_SHIFT);
}

void pml_rearm_page(struct domain *d, uint64_t pfn)
{
    uint64_t *leaf = ept_lookup(&d->ept, pfn << PAGE_SHIFT, NULL);
    if (leaf && (*leaf & EPT_D)) {
        *leaf &= ~EPT_D;
        d->logdirty.need_flush = true;
    }
}

/* Makes the page log again on its next write: clear its EPT dirty flag
 * (PML) or take its write permission away (write protection; for SPP
 * pages, which never have W, the SPP bit).  Clearing a dirty
 * flag never hides a write from tracking contexts: every 0->1 transition
 * is logged and delivered to all of them. */
static void rearm(struct domain *d, uint64_t pfn)
{
    uint64_t *leaf = ept_lookup(&d->ept, pfn << PAGE_SHIFT, NULL);
    if (!leaf)
        return;
    if (d->logdirty.wp) {
        /* An SPP page has no W anyway: take its SPP bit so every write
         * faults; the fault gives it back. */
        *leaf &= (*leaf & EPT_SW_SPP) ? ~EPT_SPP : ~EPT_W;
    } else {
        *leaf &= ~EPT_D;
    }
}

static void set_writable(struct domain *d, bool writable)
{
    for (uint64_t pfn = 0; pfn < nr_pages(d); pfn++) {
        uint64_t *leaf = ept_lookup(&d->ept, pfn << PAGE_SHIFT, NULL);
        if (!leaf)
            continue;
        uint64_t bit = (*leaf & EPT_SW_SPP) ? EPT_SPP : EPT_W;   /* SPP pages never get W */
        *leaf = writable ? (*leaf | bit) : (*leaf & ~bit);
    }
}

/* 4 KiB leaves everywhere, so that each dirty 4 KiB page is logged. */
int pml_split_all(struct domain *d)
{
    if (d->logdirty.split)
        return 0;
    for (uint64_t gpa = 0; gpa < d->mem_bytes; gpa += DOM_CHUNK)
        if (ept_split(&d->ept, gpa, EPT_LEVEL_4K))
            return -1;
    d->logdirty.split = true;
    return 0;
}

/* Back to 2 MiB leaves where nothing needs 4 KiB granularity any more. */
void pml_merge_all(struct domain *d)
{
    if (!d->logdirty.split || d->logdirty.on || d->logdirty.nr_track)
        return;
    d->logdirty.split = false;
    for (unsigned i = 0; i < d->nr_chunks; i++) {
        uint64_t gpa = (uint64_t)i * DOM_CHUNK;
        if (!spp_region_protected(d, gpa))
            ept_map(&d->ept, gpa, d->chunk[i], DOM_CHUNK, EPT_RWX | EPT_MT_WB, EPT_LEVEL_2M);
    }
}

static void free_bitmap(struct domain *d)
{
    if (d->logdirty.bitmap_pa)
        pmm_free(d->logdirty.bitmap_pa, d->logdirty.bitmap_pages);
    d->logdirty.bitmap = NULL;
    d->logdirty.bitmap_pa = d->logdirty.bitmap_pages = 0;
}

static long enable(struct domain *d)
{
    struct dom_logdirty *ld = &d->logdirty;
    if (ld->on)
        return -XEN_EINVAL;                 /* as Xen: already in log-dirty mode */
    if (!ld->wp && !(vmx_caps.has_pml && vmx_caps.has_ept_ad))
        return -XEN_EOPNOTSUPP;
    ld->bitmap_pages = ALIGN_UP(nr_pages(d), PAGE_SIZE * 8) / (PAGE_SIZE * 8);
    ld->bitmap_pa = pmm_alloc(ld->bitmap_pages, PAGE_SIZE);
    if (!ld->bitmap_pa || (!ld->wp && pml_alloc_buffers(d)) || pml_split_all(d)) {
        free_bitmap(d);
        return -XEN_ENOMEM;
    }
    ld->bitmap = phys_to_virt(ld->bitmap_pa);
    memset(ld->bitmap, 0, ld->bitmap_pages * PAGE_SIZE);
    /* Pending logs belong to tracking contexts, not to this bitmap. */
    pml_drain_domain(d);
    if (ld->wp)
        set_writable(d, false);
    else
        ept_update(&d->ept, 0, d->mem_bytes, EPT_D, 0);
    domain_ept_flush(d);
    ld->dirty_count = ld->fault_count = 0;
    ld->on = true;
    ld->gen++;
    hv_debug("domain %u: log-dirty on (%s)", d->id, ld->wp ? "write protection" : "PML");
    return 0;
}

static long disable(struct domain *d)
{
    struct dom_logdirty *ld = &d->logdirty;
    if (!ld->on)
        return 0;
    pml_drain_domain(d);
    ld->on = false;
    ld->gen++;
    if (ld->wp)
        set_writable(d, true);
    pml_merge_all(d);
    domain_ept_flush(d);
    free_bitmap(d);
    /* PML buffers stay allocated until the domain ends: the VMCS of a vCPU
     * still names its buffer until that vCPU next enters and syncs. */
    return 0;
}

/* CLEAN and PEEK: drain, copy the bitmap out, and for CLEAN re-arm the
 * pages handed out and reset the counters. */
static long query(struct vcpu *caller, struct domain *d, struct xen_domctl_shadow_op *op, bool clean)
{
    struct dom_logdirty *ld = &d->logdirty;
    if (!ld->on)
        return -XEN_EINVAL;
    if (op->mode & ~(uint32_t)XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL)
        return -XEN_EINVAL;
    pml_drain_domain(d);
    uint64_t pages = MIN(op->pages, nr_pages(d));
    uint64_t handle = (uint64_t)(uintptr_t)op->dirty_bitmap.p;
    if (handle && copy_to_guest(caller, handle, ld->bitmap, ALIGN_UP(pages, 8ul) / 8))
        return -XEN_EFAULT;
    op->pages = pages;
    op->stats.dirty_count = (uint32_t)ld->dirty_count;
    op->stats.fault_count = (uint32_t)ld->fault_count;
    if (clean) {
        for (uint64_t pfn = 0; pfn < pages; pfn++) {
            uint64_t bit = BIT(pfn % 64);
            if (ld->bitmap[pfn / 64] & bit) {
                ld->bitmap[pfn / 64] &= ~bit;
                rearm(d, pfn);
            }
        }
        domain_ept_flush(d);
        ld->dirty_count = ld->fault_count = 0;
    }
    return 0;
}

long logdirty_shadow_op(struct vcpu *caller, struct domain *d, struct xen_domctl_shadow_op *op)
{
    switch (op->op) {
    case XEN_DOMCTL_SHADOW_OP_OFF:
        return disable(d);
    case XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
        return enable(d);
    case XEN_DOMCTL_SHADOW_OP_ENABLE:
        /* HAP domains: log-dirty is the only shadow mode there is. */
        if (op->mode != XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY)
            return -XEN_EINVAL;
        return enable(d);
    case XEN_DOMCTL_SHADOW_OP_CLEAN:
        return query(caller, d, op, true);
    case XEN_DOMCTL_SHADOW_OP_PEEK:
        return query(caller, d, op, false);
    case XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION:
        op->mb = (uint32_t)((d->ept.nr_tables * PAGE_SIZE + MiB - 1) / MiB);
        return 0;
    default:
        return -XEN_EINVAL;
    }
}

bool logdirty_wp_fault(struct vcpu *v, uint64_t q, uint64_t gpa)
{
    struct domain *d = v->dom;
    if (!d->logdirty.on || !d->logdirty.wp || !(q & BIT(1)) /* write */)
        return false;
    uint64_t *leaf = ept_lookup(&d->ept, gpa, NULL);
    uint64_t bit = leaf && (*leaf & EPT_SW_SPP) ? EPT_SPP : EPT_W;
    if (!leaf || (*leaf & bit))
        return false;           /* not armed: SPP stopped it, or not ours */
    /* First write since the last clean: log it and give the permission
     * back (for an SPP page: SPP, which re-judges the re-executed write).
     * The violation already dropped the stale translation (SDM 29.4.3.1). */
    *leaf |= bit;
    d->logdirty.fault_count++;
    logdirty_mark(d, gpa);
    return true;
}

void pml_domain_destroy(struct domain *d)
{
    track_domain_destroy(d);
    free_bitmap(d);
    pml_free_buffers(d);
    d->logdirty.on = false;
}

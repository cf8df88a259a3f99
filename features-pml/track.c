/*
 * Dirty-tracking contexts for guest kernels (OoH's "SPML", made exact):
 * nestor_op NESTOR_OP_track_* (see nestor/abi.h for the ABI).
 *
 * PML stays on while a domain has contexts.  Each drained log entry goes to
 * the context enabled on that vCPU, if any, and is remembered in the vCPU's
 * window list; an entry logged while no context is enabled is re-armed at
 * once (its EPT dirty flag cleared).  When a window closes (disable, or a
 * switch to another context) its pages are re-armed too.  So every window
 * starts with the dirty flags of all pages clear except pages the domain's
 * log-dirty bitmap has already recorded, and each window sees exactly the
 * pages first written in it, however many contexts share the flags.
 */
#include "pml.h"
#include "logdirty_internal.h"
#include "../hv/domain.h"
#include "../hv/guest_mem.h"
#include "../hv/pmm.h"
#include "../hv/vcpu.h"
#include "../hv/vmx.h"
#include "../hv/xen_abi.h"

#define XEN_EOPNOTSUPP 95
#define XEN_ENOSPC 28
#define WINDOW_CAP (TRACK_WINDOW_PAGES * PAGE_SIZE / 8)

static struct track_ctx *ctx_of(struct domain *d, uint64_t id)
{
    if (id >= NESTOR_TRACK_MAX_CONTEXTS || !d->logdirty.track[id].used)
        return NULL;
    return &d->logdirty.track[id];
}

/* Appends one entry; on a full ring drops it, counts it, raises the vector. */
static void ring_push(struct vcpu *v, struct track_ctx *c, uint64_t gpa)
{
    struct domain *d = v->dom;
    struct nestor_track_ring *hdr = gpa_to_hva(d, c->ring_gpa);
    uint64_t consumer = hdr->consumer;
    /* A consumer the guest wrote beyond the producer is nonsense: treat the
     * ring as full rather than overwrite unconsumed entries. */
    bool full = consumer > c->producer || c->producer - consumer >= c->size;
    if (full) {
        c->overflow++;
        hdr->overflow = c->overflow;
        logdirty_hv_write(d, c->ring_gpa, sizeof(*hdr));
        if (c->vector && !c->full_raised) {
            c->full_raised = true;
            vcpu_raise_irq(v, c->vector);
        }
        return;
    }
    uint64_t slot = c->ring_gpa + NESTOR_TRACK_HEADER + (c->producer % c->size) * 8;
    *(uint64_t *)gpa_to_hva(d, slot) = gpa & ~(PAGE_SIZE - 1);
    c->producer++;
    hdr->producer = c->producer;
    logdirty_hv_write(d, slot, 8);
    logdirty_hv_write(d, c->ring_gpa, sizeof(*hdr));
    if (c->producer - consumer < c->size)
        c->full_raised = false;
    else if (c->vector && !c->full_raised) {
        /* This entry filled the ring: tell the guest before anything drops. */
        c->full_raised = true;
        vcpu_raise_irq(v, c->vector);
    }
}

void track_log(struct vcpu *v, uint64_t gpa)
{
    struct domain *d = v->dom;
    uint64_t pfn = gpa >> PAGE_SHIFT;
    struct track_ctx *c = v->pml.ctx >= 0 ? ctx_of(d, (uint64_t)v->pml.ctx) : NULL;
    if (pfn >= d->mem_bytes / PAGE_SIZE)
        return;
    if (!c) {
        pml_rearm_page(d, pfn);         /* not in any window: forget it */
        return;
    }
    ring_push(v, c, gpa);
    if (v->pml.window_len < WINDOW_CAP)
        v->pml.window[v->pml.window_len++] = pfn;
    else
        v->pml.window_overflow = true;
}

/* Ends v's window: its pages log again in the next one. */
static void close_window(struct vcpu *v)
{
    struct domain *d = v->dom;
    if (v->pml.window_overflow) {
        for (uint64_t pfn = 0; pfn < d->mem_bytes / PAGE_SIZE; pfn++)
            pml_rearm_page(d, pfn);
    } else {
        for (unsigned i = 0; i < v->pml.window_len; i++)
            pml_rearm_page(d, v->pml.window[i]);
    }
    v->pml.window_len = 0;
    v->pml.window_overflow = false;
}

static bool ring_ok(struct domain *d, uint64_t gpa, uint32_t pages)
{
    if ((gpa & (PAGE_SIZE - 1)) || pages == 0 || pages > NESTOR_TRACK_MAX_PAGES ||
        gpa >= d->mem_bytes || pages * PAGE_SIZE > d->mem_bytes - gpa)
        return false;
    for (unsigned i = 0; i < NESTOR_TRACK_MAX_CONTEXTS; i++) {
        const struct track_ctx *o = &d->logdirty.track[i];
        uint64_t oend = o->ring_gpa + NESTOR_TRACK_HEADER + (uint64_t)o->size * 8;
        if (o->used && gpa < oend && o->ring_gpa < gpa + pages * PAGE_SIZE)
            return false;               /* overlaps another context's ring */
    }
    return true;
}

/* The first context turns PML on for the domain: 4 KiB leaves, buffers,
 * window lists, and every dirty flag cleared (after draining what was
 * logged before, which belongs to log-dirty only). */
static int first_context(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = &d->vcpu[i];
        if (!v->pml.window_pa) {
            v->pml.window_pa = pmm_alloc(TRACK_WINDOW_PAGES, PAGE_SIZE);
            if (!v->pml.window_pa)
                return -XEN_ENOMEM;
            v->pml.window = phys_to_virt(v->pml.window_pa);
        }
        v->pml.window_len = 0;
        v->pml.window_overflow = false;
        v->pml.ctx = -1;
    }
    if (pml_alloc_buffers(d) || pml_split_all(d))
        return -XEN_ENOMEM;
    pml_drain_domain(d);
    if (!d->logdirty.wp || !d->logdirty.on)
        ept_update(&d->ept, 0, d->mem_bytes, EPT_D, 0);
    domain_ept_flush(d);
    d->logdirty.gen++;
    return 0;
}

static long do_register(struct vcpu *v, uint64_t gla)
{
    struct domain *d = v->dom;
    struct nestor_track_register r;
    if (!vmx_caps.has_pml || !vmx_caps.has_ept_ad)
        return -XEN_EOPNOTSUPP;
    if (copy_from_guest(v, &r, gla, sizeof(r)))
        return -XEN_EFAULT;
    if ((r.vector && r.vector < 32) || !ring_ok(d, r.ring_gpa, r.ring_pages))
        return -XEN_EINVAL;
    unsigned id;
    for (id = 0; id < NESTOR_TRACK_MAX_CONTEXTS && d->logdirty.track[id].used; id++)
        ;
    if (id == NESTOR_TRACK_MAX_CONTEXTS)
        return -XEN_ENOSPC;
    if (d->logdirty.nr_track == 0) {
        long rc = first_context(d);
        if (rc)
            return rc;
    }
    struct track_ctx *c = &d->logdirty.track[id];
    *c = (struct track_ctx){ .used = true, .vector = r.vector, .ring_gpa = r.ring_gpa,
                             .size = (r.ring_pages * PAGE_SIZE - NESTOR_TRACK_HEADER) / 8 };
    struct nestor_track_ring *hdr = gpa_to_hva(d, r.ring_gpa);
    memset(hdr, 0, NESTOR_TRACK_HEADER);
    hdr->magic = NESTOR_TRACK_MAGIC;
    hdr->size = c->size;
    d->logdirty.nr_track++;
    r.id = id;
    if (copy_to_guest(v, gla, &r, sizeof(r))) {
        c->used = false;
        d->logdirty.nr_track--;
        return -XEN_EFAULT;
    }
    return 0;
}

static void disable_on(struct vcpu *v)
{
    pml_drain_vcpu_current(v);
    if (v->pml.ctx >= 0)
        close_window(v);
    v->pml.ctx = -1;
    pml_flush_rearmed(v->dom);
}

static long do_unregister(struct vcpu *v, uint64_t id)
{
    struct domain *d = v->dom;
    if (!ctx_of(d, id))
        return -XEN_EINVAL;
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (d->vcpu[i].pml.ctx == (int)id)
            disable_on(&d->vcpu[i]);
    d->logdirty.track[id].used = false;
    if (--d->logdirty.nr_track == 0) {
        d->logdirty.gen++;              /* PML off again unless log-dirty wants it */
        pml_merge_all(d);
        domain_ept_flush(d);
    }
    return 0;
}

static long do_enable(struct vcpu *v, uint64_t id)
{
    if (!ctx_of(v->dom, id))
        return -XEN_EINVAL;
    if (v->pml.ctx == (int)id)
        return 0;
    /* Entries logged so far belong to the window being closed. */
    disable_on(v);
    v->pml.ctx = (int)id;
    return 0;
}

static long do_flush(struct vcpu *v)
{
    struct track_ctx *c = v->pml.ctx >= 0 ? ctx_of(v->dom, (uint64_t)v->pml.ctx) : NULL;
    uint64_t before = c ? c->producer : 0;
    pml_drain_vcpu_current(v);
    pml_flush_rearmed(v->dom);
    return c ? (long)(c->producer - before) : 0;
}

static long do_clear(struct vcpu *v, uint64_t gla)
{
    struct domain *d = v->dom;
    struct nestor_track_clear cl;
    if (copy_from_guest(v, &cl, gla, sizeof(cl)))
        return -XEN_EFAULT;
    if (!ctx_of(d, cl.id))
        return -XEN_EINVAL;
    if (cl.nr > NESTOR_TRACK_CLEAR_MAX)
        return -XEN_E2BIG;
    pml_drain_vcpu_current(v);
    if (cl.nr == 0) {
        if (v->pml.ctx == (int)cl.id)
            close_window(v);
    } else {
        static uint64_t gfns[NESTOR_TRACK_CLEAR_MAX];
        if (copy_from_guest(v, gfns, cl.gfns, (uint64_t)cl.nr * 8))
            return -XEN_EFAULT;
        for (unsigned i = 0; i < cl.nr; i++)
            if (gfns[i] >= d->mem_bytes / PAGE_SIZE)
                return -XEN_EINVAL;
        for (unsigned i = 0; i < cl.nr; i++)
            pml_rearm_page(d, gfns[i]);
    }
    pml_flush_rearmed(d);
    return 0;
}

long track_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    if (cmd != NESTOR_OP_track_register && v->dom->logdirty.nr_track == 0)
        return -XEN_EINVAL;             /* nothing registered */
    switch (cmd) {
    case NESTOR_OP_track_register:   return do_register(v, arg);
    case NESTOR_OP_track_unregister: return do_unregister(v, arg);
    case NESTOR_OP_track_enable:     return do_enable(v, arg);
    case NESTOR_OP_track_disable:    disable_on(v); return 0;
    case NESTOR_OP_track_flush:      return do_flush(v);
    case NESTOR_OP_track_clear:      return do_clear(v, arg);
    default:                         return -XEN_ENOSYS;
    }
}

void track_domain_destroy(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        if (d->vcpu[i].pml.window_pa)
            pmm_free(d->vcpu[i].pml.window_pa, TRACK_WINDOW_PAGES);
        d->vcpu[i].pml.window_pa = 0;
        d->vcpu[i].pml.window = NULL;
    }
    d->logdirty.nr_track = 0;
}

/*
 * SPP in L0: per-domain SPP tables, the NESTOR_OP_spp_* hypercalls and the
 * writes SPP stops.
 *
 * A protected page is a 4 KiB EPT leaf with EPT_SPP set and EPT_W clear
 * (the 2 MiB leaf holding it is split first) and its 64-bit vector in the
 * domain's SPPT.  The CPU then lets writes to the permitted sub-pages
 * through with no VM exit, and turns writes to the others into EPT
 * violations (what Bochs 2.7 implements: SPP applies to a data write when
 * the leaf is a 4 KiB one with bit 61 set, the cumulative EPT permissions
 * are read-only and the access has a linear address and is not a guest
 * paging-structure access; the vector bit checked is 2 * (gpa[11:7])).
 * Bochs sets no "SPP" bit in the qualification of those EPT violations,
 * so they are recognised here by their EPT leaf: a write to a leaf with
 * EPT_SPP.  A missing SPPT entry or a reserved bit makes exit 66 instead,
 * which a consistent SPPT never causes.
 */
#include <nestor/abi.h>
#include "spp.h"
#include "sppt.h"
#include "../hv/console.h"
#include "../hv/domain.h"
#include "../hv/exit.h"
#include "../hv/guest_mem.h"
#include "../hv/pmm.h"
#include "../hv/vcpu.h"
#include "../hv/vmx.h"
#include "../hv/xen_abi.h"

_Static_assert(HV_MAX_VCPUS <= SPP_MAX_VCPUS, "dom_spp.vcpu_gen too small");
_Static_assert(DOM_MAX_CHUNKS <= SPP_MAX_REGIONS, "dom_spp.region_count too small");
_Static_assert(DOM_CHUNK == 2 * MiB, "SPP regions are 2 MiB EPT leaves");
_Static_assert(SPP_RING == NESTOR_SPP_RING, "violation ring size is ABI");
_Static_assert(NESTOR_SPP_MAX_PAGES <= 0xffff, "region_count is 16 bits");
_Static_assert(sizeof(struct spp_violation_rec) == sizeof(struct nestor_spp_violation),
               "violation records are copied out as they are");

/* EPT-violation exit qualification (SDM Table 28-7). */
#define EPTQ_WRITE        BIT(1)
#define EPTQ_GLA_VALID    BIT(7)
#define EPTQ_GLA_FINAL    BIT(8)    /* the access was not to a paging structure */
#define EPTQ_NMI_UNBLOCK  BIT(12)
/* SPP-related event exit qualification: bit 11 set = SPPT miss. */
#define SPPQ_MISS         BIT(11)
#define INTERRUPTIBILITY_NMI (1u << 3)

#define REGION_PAGES      (DOM_CHUNK / PAGE_SIZE)

/* ---- SPPT memory ----------------------------------------------------------- */
static uint64_t sppt_alloc(void *ctx) { (void)ctx; return pmm_alloc_zeroed_page(); }
static void sppt_free(void *ctx, uint64_t pa) { (void)ctx; pmm_free(pa, 1); }
static void *sppt_map(void *ctx, uint64_t pa) { (void)ctx; return phys_to_virt(pa); }
static const struct ept_mm spp_mm = { sppt_alloc, sppt_free, sppt_map, NULL };

/* ---- pages ---------------------------------------------------------------------- */
static uint64_t ram_pages(const struct domain *d)
{
    return d->mem_bytes >> PAGE_SHIFT;
}

static bool page_protected(struct domain *d, uint64_t gfn)
{
    unsigned level;
    uint64_t *leaf = ept_lookup(&d->ept, gfn << PAGE_SHIFT, &level);
    return leaf && level == EPT_LEVEL_4K && (*leaf & EPT_SW_SPP);
}

/* Everything apply_page() needs, allocated beforehand so that applying
 * cannot fail: a 4 KiB EPT leaf and the SPPT path to the page's vector.
 * Neither changes what the guest sees. */
static int prepare_page(struct domain *d, uint64_t gfn)
{
    uint64_t gpa = gfn << PAGE_SHIFT;
    struct dom_spp *s = &d->spp;
    if (ept_split(&d->ept, gpa, EPT_LEVEL_4K))
        return -1;
    if (!s->sppt.root) {
        if (sppt_init(&s->sppt, &spp_mm))
            return -1;
        s->gen++;               /* every vCPU enables SPP at its next entry */
        hv_debug("domain %u: SPP table at %#lx", d->id, s->sppt.root);
    }
    return sppt_leaf(&s->sppt, gpa, true) ? 0 : -1;
}

/* Leaf tables of regions left with no protected page after a failed
 * preparation go back to the allocator. */
static void trim_unused(struct domain *d, uint64_t gfn_lo, uint64_t gfn_hi)
{
    for (uint64_t r = gfn_lo / REGION_PAGES; r <= gfn_hi / REGION_PAGES && r < SPP_MAX_REGIONS; r++)
        if (!d->spp.region_count[r])
            sppt_free_leaf_table(&d->spp.sppt, r * DOM_CHUNK);
}

/* Sets one page's vector; the page was prepared if it gets protected. */
static void apply_page(struct domain *d, uint64_t gfn, uint32_t vec)
{
    struct dom_spp *s = &d->spp;
    uint64_t gpa = gfn << PAGE_SHIFT;
    unsigned level, r = (unsigned)(gfn / REGION_PAGES);
    uint64_t *leaf = ept_lookup(&d->ept, gpa, &level);
    bool was = leaf && level == EPT_LEVEL_4K && (*leaf & EPT_SW_SPP);
    bool wp = d->logdirty.on && d->logdirty.wp;

    if (vec != NESTOR_SPP_UNPROTECTED) {
        *sppt_leaf(&s->sppt, gpa, false) = spp_vec_to_hw(vec);
        /* Under log-dirty by write protection a page still waiting for its
         * first write (no W, or for an SPP page no EPT_SPP) stays that way:
         * the fault logs it and then hands it to SPP (features-pml). */
        bool armed = wp && !(*leaf & (was ? EPT_SPP : EPT_W));
        *leaf = (*leaf | EPT_SW_SPP | (armed ? 0 : EPT_SPP)) & ~EPT_W;
        if (!was) {
            s->nr_protected++;
            s->region_count[r]++;
        }
    } else if (was) {
        /* Log-dirty by write protection re-arms pages without W: leave W
         * to it, so the next write is still logged. */
        *leaf = (*leaf & ~(EPT_SPP | EPT_SW_SPP)) | (wp ? 0 : EPT_W);
        uint64_t *v = sppt_leaf(&s->sppt, gpa, false);
        if (v)
            *v = 0;
        s->nr_protected--;
        if (--s->region_count[r] == 0)
            sppt_free_leaf_table(&s->sppt, gpa);
    }
}

/* ---- hypercalls ------------------------------------------------------------------- */
static long op_info(struct vcpu *v, uint64_t gla)
{
    struct dom_spp *s = &v->dom->spp;
    struct nestor_spp_info info = {
        .max_pages = s->limit,
        .nr_protected = s->nr_protected,
        .max_batch = NESTOR_SPP_MAX_BATCH,
        .nr_tables = (uint32_t)s->sppt.nr_tables,
        .nr_violations = s->nr_violations,
    };
    return copy_to_guest(v, gla, &info, sizeof(info)) ? -XEN_EFAULT : 0;
}

static long op_set(struct vcpu *v, uint64_t gla)
{
    static struct nestor_spp_entry ent[NESTOR_SPP_MAX_BATCH];
    static bool skip[NESTOR_SPP_MAX_BATCH];
    struct domain *d = v->dom;
    struct nestor_spp_set set;
    uint64_t lo = ~0ul, hi = 0;
    long delta = 0;

    if (copy_from_guest(v, &set, gla, sizeof(set)))
        return -XEN_EFAULT;
    if (set.pad)
        return -XEN_EINVAL;
    if (set.nr > NESTOR_SPP_MAX_BATCH)
        return -XEN_E2BIG;
    if (!set.nr)
        return 0;
    if (copy_from_guest(v, ent, set.entries, (uint64_t)set.nr * sizeof(ent[0])))
        return -XEN_EFAULT;
    /* Validate everything first. */
    for (unsigned i = 0; i < set.nr; i++)
        if (ent[i].gfn >= ram_pages(d) || ent[i].pad)
            return -XEN_EINVAL;
    for (unsigned i = 0; i < set.nr; i++) {
        skip[i] = false;
        for (unsigned j = i + 1; j < set.nr && !skip[i]; j++)
            skip[i] = ent[j].gfn == ent[i].gfn;     /* a later entry wins */
        if (skip[i])
            continue;
        delta += (ent[i].vector != NESTOR_SPP_UNPROTECTED) - page_protected(d, ent[i].gfn);
        lo = MIN(lo, ent[i].gfn);
        hi = MAX(hi, ent[i].gfn);
    }
    if ((long)d->spp.nr_protected + delta > (long)d->spp.limit)
        return -XEN_ENOSPC;
    for (unsigned i = 0; i < set.nr; i++) {
        if (skip[i] || ent[i].vector == NESTOR_SPP_UNPROTECTED || !prepare_page(d, ent[i].gfn))
            continue;
        trim_unused(d, lo, hi);
        domain_ept_flush(d);
        return -XEN_ENOMEM;
    }
    /* Then apply: nothing can fail any more. */
    for (unsigned i = 0; i < set.nr; i++)
        if (!skip[i])
            apply_page(d, ent[i].gfn, ent[i].vector);
    domain_ept_flush(d);
    return 0;
}

static long op_set_range(struct vcpu *v, uint64_t gla)
{
    struct domain *d = v->dom;
    struct dom_spp *s = &d->spp;
    struct nestor_spp_range rg;

    if (copy_from_guest(v, &rg, gla, sizeof(rg)))
        return -XEN_EFAULT;
    if (rg.pad)
        return -XEN_EINVAL;
    if (!rg.nr_pages)
        return 0;
    if (rg.gfn >= ram_pages(d) || rg.nr_pages > ram_pages(d) - rg.gfn)
        return -XEN_EINVAL;
    uint64_t end = rg.gfn + rg.nr_pages;

    if (rg.vector == NESTOR_SPP_UNPROTECTED) {
        /* Only regions holding protected pages need a look. */
        for (uint64_t g = rg.gfn; g < end;) {
            if (!s->region_count[g / REGION_PAGES]) {
                g = ALIGN_DOWN(g, REGION_PAGES) + REGION_PAGES;
                continue;
            }
            apply_page(d, g++, NESTOR_SPP_UNPROTECTED);
        }
        domain_ept_flush(d);
        return 0;
    }
    if (rg.nr_pages > s->limit)
        return -XEN_ENOSPC;
    uint64_t already = 0;
    for (uint64_t g = rg.gfn; g < end; g++)
        already += page_protected(d, g);
    if (s->nr_protected + (rg.nr_pages - already) > s->limit)
        return -XEN_ENOSPC;
    for (uint64_t g = rg.gfn; g < end; g++) {
        if (prepare_page(d, g)) {
            trim_unused(d, rg.gfn, end - 1);
            domain_ept_flush(d);
            return -XEN_ENOMEM;
        }
    }
    for (uint64_t g = rg.gfn; g < end; g++)
        apply_page(d, g, rg.vector);
    domain_ept_flush(d);
    return 0;
}

static long op_get(struct vcpu *v, uint64_t gla)
{
    struct domain *d = v->dom;
    struct nestor_spp_get g;

    if (copy_from_guest(v, &g, gla, sizeof(g)))
        return -XEN_EFAULT;
    if (g.pad || g.gfn >= ram_pages(d))
        return -XEN_EINVAL;
    g.vector = NESTOR_SPP_UNPROTECTED;
    if (page_protected(d, g.gfn)) {
        uint64_t *leaf = sppt_leaf(&d->spp.sppt, g.gfn << PAGE_SHIFT, false);
        g.vector = leaf ? spp_hw_to_vec(*leaf) : 0;
    }
    return copy_to_guest(v, gla, &g, sizeof(g)) ? -XEN_EFAULT : 0;
}

static long op_get_violations(struct vcpu *v, uint64_t gla)
{
    static struct nestor_spp_violation out[SPP_RING];
    struct dom_spp *s = &v->dom->spp;
    struct nestor_spp_violations q;

    if (copy_from_guest(v, &q, gla, sizeof(q)))
        return -XEN_EFAULT;
    if ((q.flags & ~NESTOR_SPP_VIOL_CLEAR) || q.pad)
        return -XEN_EINVAL;
    unsigned n = (unsigned)MIN((uint64_t)q.max, (uint64_t)s->recent_count);
    for (unsigned i = 0; i < n; i++) {
        const struct spp_violation_rec *r = &s->recent[(s->recent_head + SPP_RING - n + i) % SPP_RING];
        out[i] = (struct nestor_spp_violation){ r->gpa, r->gla, r->rip };
    }
    if (n && copy_to_guest(v, q.buf, out, n * sizeof(out[0])))
        return -XEN_EFAULT;
    q.count = n;
    q.total = s->nr_violations;
    if (copy_to_guest(v, gla, &q, sizeof(q)))
        return -XEN_EFAULT;
    if (q.flags & NESTOR_SPP_VIOL_CLEAR)
        s->recent_count = 0;
    return 0;
}

long spp_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    long (*fn)(struct vcpu *, uint64_t);
    switch (cmd) {
    case NESTOR_OP_spp_info:           fn = op_info; break;
    case NESTOR_OP_spp_set:            fn = op_set; break;
    case NESTOR_OP_spp_set_range:      fn = op_set_range; break;
    case NESTOR_OP_spp_get:            fn = op_get; break;
    case NESTOR_OP_spp_get_violations: fn = op_get_violations; break;
    default:
        return -XEN_ENOSYS;
    }
    if (!vmx_caps.has_spp)
        return -XEN_EOPNOTSUPP;
    return fn(v, arg);
}

/* ---- VMCS and exits ------------------------------------------------------------------ */
void spp_vmcs_sync(struct vcpu *v)
{
    struct dom_spp *s = &v->dom->spp;
    if (likely(s->vcpu_gen[v->id] == s->gen))
        return;
    uint64_t proc2 = vmread(VMCS_PROC_CONTROLS2);
    if (s->sppt.root) {
        vmwrite(VMCS_SPPT_POINTER, s->sppt.root);
        vmwrite(VMCS_PROC_CONTROLS2, proc2 | PROC2_ENABLE_SPP);
    } else {
        vmwrite(VMCS_PROC_CONTROLS2, proc2 & ~(uint64_t)PROC2_ENABLE_SPP);
    }
    s->vcpu_gen[v->id] = s->gen;
}

static bool contributory_or_pf(unsigned vec)
{
    return vec == 0 || (vec >= 10 && vec <= 14);
}

bool spp_ept_violation(struct vcpu *v, uint64_t q, uint64_t gpa)
{
    struct domain *d = v->dom;
    struct dom_spp *s = &d->spp;
    unsigned level;

    if (likely(!s->nr_protected) || !(q & EPTQ_WRITE))
        return false;
    uint64_t *leaf = ept_lookup(&d->ept, gpa, &level);
    if (!leaf || level != EPT_LEVEL_4K || !(*leaf & EPT_SPP))
        return false;
    uint64_t rip = vcpu_rip();
    if ((q & (EPTQ_GLA_VALID | EPTQ_GLA_FINAL)) != (EPTQ_GLA_VALID | EPTQ_GLA_FINAL)) {
        /* SPP never applies to these: every such write fails, retrying
         * cannot help. */
        domain_crash(d, "write to SPP-protected guest-physical %#lx by %s (SPP applies to data writes "
                     "only; do not protect page tables) at rip %#lx",
                     gpa, (q & EPTQ_GLA_VALID) ? "a guest paging-structure access" : "an access with no linear address",
                     rip);
        return true;
    }
    uint64_t gla = vmread(VMCS_GUEST_LINEAR_ADDR);
    s->recent[s->recent_head] = (struct spp_violation_rec){ gpa, gla, rip };
    s->recent_head = (s->recent_head + 1) % SPP_RING;
    if (s->recent_count < SPP_RING)
        s->recent_count++;
    s->nr_violations++;

    uint32_t idt = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
    if (!(idt & INTR_INFO_VALID) && (q & EPTQ_NMI_UNBLOCK))
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    /* The write was part of delivering an event (e.g. pushing a frame on a
     * protected stack): #GP then combines with that event (SDM 6.15). */
    if ((idt & INTR_INFO_VALID) && (idt & 0x700) == INTR_TYPE_HW_EXCEPTION) {
        unsigned vec = idt & 0xff;
        if (vec == 8) {
            domain_crash(d, "triple fault: SPP stopped a write to guest-physical %#lx (linear %#lx) "
                         "while delivering #DF at rip %#lx", gpa, gla, rip);
            return true;
        }
        if (contributory_or_pf(vec)) {
            vcpu_inject_exception(v, 8, true, 0);
            return true;
        }
    }
    vcpu_inject_gp0(v);
    return true;
}

void handle_spp_event(struct vcpu *v)
{
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    domain_crash(v->dom, "SPP %s at guest-physical %#lx (linear %#lx, rip %#lx): the hv's SPP table "
                 "does not match its EPT (hv bug)",
                 (q & SPPQ_MISS) ? "table miss" : "misconfiguration",
                 vmread(VMCS_GUEST_PHYSICAL_ADDR), vmread(VMCS_GUEST_LINEAR_ADDR), vcpu_rip());
}

/* ---- domain lifetime ------------------------------------------------------------------- */
void spp_domain_init(struct domain *d)
{
    memset(&d->spp, 0, sizeof(d->spp));
    d->spp.limit = NESTOR_SPP_MAX_PAGES;
}

void spp_domain_destroy(struct domain *d)
{
    struct dom_spp *s = &d->spp;
    if (s->nr_protected || s->sppt.root)
        hv_debug("domain %u: SPP off, %u protected page(s), %lu SPPT page(s) freed",
                 d->id, s->nr_protected, s->sppt.nr_tables);
    sppt_destroy(&s->sppt);
    s->nr_protected = 0;
    memset(s->region_count, 0, sizeof(s->region_count));
    s->recent_count = 0;
}

bool spp_region_protected(struct domain *d, uint64_t gpa_2m)
{
    uint64_t r = gpa_2m / DOM_CHUNK;
    return r < SPP_MAX_REGIONS && d->spp.region_count[r] != 0;
}

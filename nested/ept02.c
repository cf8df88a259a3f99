/* Shadow EPT: EPT02 = EPT12 ∘ EPT01 ("multi-dimensional paging").
 *
 * EPT02 starts empty and is filled one 4 KiB page per L2 EPT violation:
 * walk EPT12 in L1's memory (ept12.c), translate the L1 guest-physical
 * result through EPT01, install the intersection of both permissions with
 * L1's memory type.  A fault EPT12 does not allow is reflected to L1.
 *
 * Coherence:
 *  - every page the walk read as an EPT12 table is write-protected in EPT01
 *    (software bit EPT_SW_EPT12); L1's first write to it drops every EPT02
 *    of the domain and makes the page writable again until a walk reads it
 *    again;
 *  - L1's INVEPT drops the EPT02 of that EPTP (single-context) or all;
 *  - L0 changing EPT01 (log-dirty, SPP, tracking) drops every EPT02;
 *  - EPT12 accessed/dirty flags: the walk sets them; a page whose EPT12
 *    dirty flag is clear is mapped without write permission so that the
 *    first write comes back to set it (and to log it, nested PML);
 *  - L0's own dirty tracking of L1's memory (log-dirty, tracking contexts)
 *    sees L2's writes the same way: while it is on, EPT02 write permission
 *    is granted only on a write fault, which is logged.
 * EPT02 roots are cached per domain by EPTP12 (EPT02_CACHE, LRU); a root
 * table is never freed while the domain lives, so an EPTP02 in a vmcs02 is
 * always valid.  docs/NESTED.md, "EPT02". */
#include "nested_internal.h"
#include "vmcs12_index.h"
#include "ept12.h"
#include "console.h"
#include "exit.h"
#include "vcpu.h"
#include "domain.h"
#include "pml.h"
#include "vmx.h"
#include "x86.h"

#define G(enc) V12(n->vmcs12, (enc))
#define EPTP12_NONE ~0ull       /* key of the identity EPT02 (vmcs12 without EPT) */

#define EPTQ_READ       BIT(0)
#define EPTQ_WRITE      BIT(1)
#define EPTQ_FETCH      BIT(2)
#define EPTQ_GLA_VALID  BIT(7)
#define EPTQ_GLA_XLATE  BIT(8)
#define EPTQ_NMI_UNBLOCK BIT(12)

static uint64_t eptp02_of(struct ept02_slot *s)
{
    return ept_eptp(&s->ept, false);
}

static void zap(struct ept02_slot *s)
{
    ept_clear(&s->ept);
    invept(INVEPT_SINGLE_CONTEXT, eptp02_of(s));
}

void nested_ept02_flush_domain(struct domain *d)
{
    struct dom_nested *dn = &d->nested;
    for (unsigned i = 0; i < EPT02_CACHE; i++)
        if (dn->ept02[i].used) {
            zap(&dn->ept02[i]);
            dn->ept02_flushes++;
        }
}

void ept02_invept(struct vcpu *v, uint64_t type, uint64_t eptp12)
{
    struct dom_nested *dn = &v->dom->nested;
    if (type != INVEPT_SINGLE_CONTEXT) {
        nested_ept02_flush_domain(v->dom);
        return;
    }
    for (unsigned i = 0; i < EPT02_CACHE; i++)
        if (dn->ept02[i].used && dn->ept02[i].eptp12 == eptp12)
            zap(&dn->ept02[i]);
}

static struct ept02_slot *slot_for(struct domain *d, uint64_t eptp12)
{
    struct dom_nested *dn = &d->nested;
    struct ept02_slot *victim = &dn->ept02[0];
    dn->clock++;
    for (unsigned i = 0; i < EPT02_CACHE; i++) {
        struct ept02_slot *s = &dn->ept02[i];
        if (s->used && s->eptp12 == eptp12) {
            s->last_use = dn->clock;
            return s;
        }
        if (!s->used || (victim->used && s->last_use < victim->last_use))
            victim = s;
    }
    if (victim->used) {
        zap(victim);
    } else {
        if (ept_init(&victim->ept, d->ept.mm))
            return NULL;
        victim->used = true;
    }
    victim->eptp12 = eptp12;
    victim->last_use = dn->clock;
    dn->slot_gen++;
    return victim;
}

static uint64_t current_eptp12(struct vcpu_nested *n)
{
    /* Bits 11:0 are EPT12 controls (memory type, walk length, A/D): the
     * table is bits 51:12, but an EPTP with other controls is another
     * context for INVEPT, so the whole value is the key. */
    return (vmcs12_proc2(n) & PROC2_ENABLE_EPT) ? G(VMCS_EPT_POINTER) : EPTP12_NONE;
}

uint64_t ept02_eptp(struct vcpu *v)
{
    struct ept02_slot *s = slot_for(v->dom, current_eptp12(&v->nested));
    return s ? eptp02_of(s) : 0;
}

/* ---- EPT12 in L1 memory --------------------------------------------------- */

struct walk_ctx {
    struct domain *d;
    uint64_t pages[8];          /* table pages read (a walk reads at most 4 per try) */
    unsigned nr;
};

static int l1_read_entry(void *ctx, uint64_t gpa, uint64_t *val)
{
    struct walk_ctx *w = ctx;
    if (gpa >= w->d->mem_bytes || (gpa & 7))
        return -1;
    uint64_t page = gpa & ~(uint64_t)(PAGE_SIZE - 1);
    if ((!w->nr || w->pages[w->nr - 1] != page) && w->nr < ARRAY_SIZE(w->pages))
        w->pages[w->nr++] = page;
    return copy_from_gpa(w->d, val, gpa, 8);
}

static int l1_set_bits(void *ctx, uint64_t gpa, uint64_t old, uint64_t bits)
{
    struct walk_ctx *w = ctx;
    if (gpa >= w->d->mem_bytes || (gpa & 7))
        return -1;
    uint64_t *p = gpa_to_hva(w->d, gpa);
    if (!p)
        return -1;
    if (!__atomic_compare_exchange_n(p, &old, old | bits, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return -1;
    logdirty_hv_write(w->d, gpa, 8);     /* an EPT12 flag L0 set for L1 */
    return 0;
}

/* Write-protects the EPT12 table pages a walk read.  Returns true if a
 * page was newly protected: EPT02 mappings may then allow writes to it,
 * so every EPT02 is dropped. */
static bool protect_tables(struct domain *d, const struct walk_ctx *w)
{
    bool changed = false;
    for (unsigned i = 0; i < w->nr; i++) {
        uint64_t *leaf = ept_lookup(&d->ept, w->pages[i], NULL);
        /* SPP pages keep SPP's write rules (not tracked: docs/NESTED.md). */
        if (!leaf || (*leaf & (EPT_SW_EPT12 | EPT_SW_SPP)))
            continue;
        if (ept_update(&d->ept, w->pages[i], PAGE_SIZE, EPT_W, EPT_SW_EPT12))
            continue;       /* out of memory splitting: left unprotected, no harm to L0 */
        d->nested.ept12_protected++;
        changed = true;
    }
    if (changed) {
        invept(INVEPT_SINGLE_CONTEXT, ept_eptp(&d->ept, vmx_caps.has_ept_ad));
        nested_ept02_flush_domain(d);
    }
    return changed;
}

bool nested_ept12_write(struct vcpu *v, uint64_t q, uint64_t gpa)
{
    struct domain *d = v->dom;
    /* On every EPT violation of every domain: cheap when nothing is
     * protected (any domain but an L1 with EPT12 in use). */
    if (likely(!d->nested.ept12_protected) || !(q & EPTQ_WRITE) || gpa >= d->mem_bytes)
        return false;
    uint64_t *leaf = ept_lookup(&d->ept, gpa, NULL);
    if (!leaf || !(*leaf & EPT_SW_EPT12))
        return false;
    *leaf &= ~EPT_SW_EPT12;
    d->nested.ept12_protected--;
    /* Log-dirty by write protection may have armed the page too: its
     * fault handler gives the permission back and logs the write. */
    if (!logdirty_wp_fault(v, q, gpa))
        *leaf |= EPT_W;
    nested_ept02_flush_domain(d);
    return true;
}

/* ---- nested PML (SDM 29.3.6): L1 asked for it in vmcs12 ---------------- */

static bool pml12_on(struct vcpu_nested *n)
{
    return (vmcs12_proc2(n) & PROC2_ENABLE_PML) && (G(VMCS_EPT_POINTER) & BIT(6));
}

static bool pml12_full(struct vcpu_nested *n)
{
    return pml12_on(n) && G(VMCS_GUEST_PML_INDEX) > 511;
}

/* The CPU logs the guest-physical address of each page whose EPT dirty
 * flag it sets: the entry at the PML index, then the index decrements. */
static void pml12_log(struct vcpu *v, uint64_t gpa2)
{
    struct vcpu_nested *n = &v->nested;
    if (!pml12_on(n))
        return;
    uint64_t index = G(VMCS_GUEST_PML_INDEX);
    uint64_t entry = gpa2 & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t slot = G(VMCS_PML_ADDRESS) + 8 * index;
    /* A log L1 placed outside its memory takes nothing (no RAM there). */
    if (slot < v->dom->mem_bytes && v->dom->mem_bytes - slot >= 8)
        copy_to_gpa(v->dom, slot, &entry, 8);
    G(VMCS_GUEST_PML_INDEX) = (index - 1) & 0xffff;
}

/* ---- the fill --------------------------------------------------------------- */

static unsigned reflect_violation(uint64_t q, uint64_t perms, uint64_t *qual)
{
    *qual = (q & (EPTQ_READ | EPTQ_WRITE | EPTQ_FETCH | EPTQ_GLA_VALID | EPTQ_GLA_XLATE |
                  EPTQ_NMI_UNBLOCK)) | perms;
    return 48;
}

/* Does L0 itself track writes to d's memory right now? */
static bool l0_tracks_writes(const struct domain *d)
{
    return d->logdirty.on || d->logdirty.nr_track;
}

/* The EPT12 walk of L2 guest-physical gpa2 for the access `*q` names
 * (EPT-violation qualification bits: read/write/fetch, guest-linear
 * valid/translation), with what the CPU does around it: A/D flags (and
 * with them, paging-structure reads become writes: *q is updated),
 * nested PML, and the write protection of the EPT12 tables read.  0 with
 * *r (r->l1_gpa) when mapped; -1 when L1 was rewriting the entries (let
 * L2 fault again); else the exit reason for L1 (48, 49, 62) with *qual. */
static int ept12_translate(struct vcpu *v, uint64_t gpa2, uint64_t *q, struct ept12_result *r,
                           uint64_t *qual)
{
    struct vcpu_nested *n = &v->nested;
    struct domain *d = v->dom;
    uint64_t eptp12 = current_eptp12(n);
    unsigned access = *q & (EPTQ_READ | EPTQ_WRITE | EPTQ_FETCH);

    if (eptp12 == EPTP12_NONE) {
        /* No EPT in vmcs12: L2 guest-physical is L1 guest-physical. */
        r->status = EPT12_OK;
        r->l1_gpa = gpa2;
        r->perms = EPT_RWX;
        r->memtype = 6;
        r->leaf = EPT_D;
        return 0;
    }
    const struct nested_caps *c = nested_caps_get();
    struct ept12_caps caps;
    ept12_caps_from_msr(&caps, nested_cap(c, MSR_VMX_EPT_VPID_CAP), c->maxphyaddr);
    /* With EPT A/D flags, accesses to guest paging structures are
     * writes (SDM 29.3.5). */
    if ((eptp12 & BIT(6)) && (*q & EPTQ_GLA_VALID) && !(*q & EPTQ_GLA_XLATE))
        access |= EPTQ_WRITE, *q |= EPTQ_WRITE;
    struct walk_ctx w = { .d = d };
    struct ept12_mem mem = { l1_read_entry, l1_set_bits, &w };
    if ((access & EPTQ_WRITE) && pml12_full(n)) {
        /* SDM 29.3.6: a write that would set a dirty flag with the PML
         * index out of range is a PML-full exit instead (no flag set).
         * A walk without A/D updates tells whether it would. */
        ept12_walk_caps(eptp12 & ~BIT(6), gpa2, access, &caps, &mem, r);
        if (r->status == EPT12_OK && !(r->leaf & EPT_D)) {
            *qual = *q & EPTQ_NMI_UNBLOCK;
            return 62;
        }
        w.nr = 0;
    }
    ept12_walk_caps(eptp12, gpa2, access, &caps, &mem, r);
    if (r->status == EPT12_OK)
        protect_tables(d, &w);  /* may drop EPT02; vmcs02's root stays valid */
    if (r->status == EPT12_OK && (access & EPTQ_WRITE) && (eptp12 & BIT(6)) &&
        !(r->leaf & EPT_D))
        pml12_log(v, gpa2);     /* the walk set the dirty flag */
    if (!(eptp12 & BIT(6)))
        r->leaf |= EPT_D;       /* no A/D: nothing to wait for */

    switch (r->status) {
    case EPT12_OK:
        return 0;
    case EPT12_RETRY:
        return -1;             /* L1 is rewriting the entry: let L2 fault again */
    case EPT12_MISCONFIG:
        *qual = 0;
        return 49;
    case EPT12_VIOLATION:
        return (int)reflect_violation(*q, ept12_violation_qual_perms(r), qual);
    default:
        /* EPT12 tables outside L1's RAM: no L1 memory answers, so the
         * access cannot be translated — an EPT violation for L1, never
         * an access to anything else. */
        return (int)reflect_violation(*q, 0, qual);
    }
}

int ept02_l2_access(struct vcpu *v, uint64_t gpa2, bool write, bool final, uint64_t *gpa1,
                    uint64_t *qual)
{
    uint64_t q = (write ? EPTQ_WRITE : EPTQ_READ) | EPTQ_GLA_VALID | (final ? EPTQ_GLA_XLATE : 0);
    struct ept12_result r = { 0 };
    int rc = ept12_translate(v, gpa2, &q, &r, qual);
    if (rc)
        return rc;
    if (r.l1_gpa >= v->dom->mem_bytes)
        return (int)reflect_violation(q, 0, qual);     /* EPT12 maps beyond L1's RAM */
    *gpa1 = r.l1_gpa;
    return 0;
}

unsigned ept02_violation(struct vcpu *v, uint64_t *qual)
{
    struct domain *d = v->dom;
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    uint64_t gpa2 = vmread(VMCS_GUEST_PHYSICAL_ADDR);
    struct ept12_result r = { 0 };
    int rc = ept12_translate(v, gpa2, &q, &r, qual);
    if (rc)
        return rc < 0 ? 0 : (unsigned)rc;
    unsigned access = q & (EPTQ_READ | EPTQ_WRITE | EPTQ_FETCH);
    uint64_t eptp12 = current_eptp12(&v->nested);

    uint64_t l1page = r.l1_gpa & ~(uint64_t)(PAGE_SIZE - 1);
    uint64_t hpa, leaf01;
    if (l1page >= d->mem_bytes) {
        /* L2's access reached L1 guest-physical r.l1_gpa (directly, or
         * through an EPT12 entry that allows it).  If that is L1's local
         * APIC page, the access is one to L1's APIC, as on a CPU where
         * L1's physical address space is the machine's (SDM 29.3: the
         * EPT output is a physical address; without APIC virtualization
         * an access to the APIC page goes to the APIC).  Emulate it on
         * L1's APIC and let L2 continue. */
        if (lapic_mmio_claims(v, r.l1_gpa, q)) {
            lapic_mmio_exit(v, r.l1_gpa, q);
            return 0;
        }
        /* Without EPT in vmcs12 there is no EPT violation L1 could get:
         * the access is L1's own, outside its RAM, which ends a domain
         * (exit_ept.c) whatever level made it. */
        if (eptp12 == EPTP12_NONE) {
            domain_crash(d, "L2 %s of L1 guest-physical %#lx outside its %lu MiB of RAM at rip %#lx",
                         q & EPTQ_FETCH ? "instruction fetch" : q & EPTQ_WRITE ? "write" : "read",
                         r.l1_gpa, d->mem_bytes / MiB, vcpu_rip());
            return 0;
        }
        return reflect_violation(q, 0, qual);   /* EPT12 maps beyond L1's RAM */
    }
    if (!ept_translate(&d->ept, l1page, &hpa, &leaf01))
        return reflect_violation(q, 0, qual);

    uint64_t perms = r.perms & (EPT_RWX & leaf01);
    if ((access & EPTQ_WRITE) && (r.perms & EPT_W) && !(leaf01 & EPT_W)) {
        /* L0 denies the write to L1's page itself: an EPT12 table (drop
         * EPT02, unprotect), log-dirty by write protection, or SPP. */
        if (!nested_ept12_write(v, EPTQ_WRITE, l1page) &&
            !logdirty_wp_fault(v, EPTQ_WRITE, l1page)) {
            domain_crash(d, "L2 write to L1 page %#lx, which L0 protects with SPP (nested SPP "
                         "is not supported)", l1page);
            return 0;
        }
        return 0;       /* L2 retries; the next fault maps it */
    }
    if ((perms & EPT_W) && !(access & EPTQ_WRITE) &&
        (!(r.leaf & EPT_D) || l0_tracks_writes(d)))
        perms &= ~(uint64_t)EPT_W;          /* the first write must come back */
    if ((perms & EPT_W) && l0_tracks_writes(d))
        pml_log(v, l1page);
    struct ept02_slot *s = slot_for(d, eptp12);
    if (!s || ept_map(&s->ept, gpa2 & ~(uint64_t)(PAGE_SIZE - 1), hpa, PAGE_SIZE,
                      perms | ((uint64_t)r.memtype << EPT_MT_SHIFT) | (r.ipat ? EPT_IPAT : 0),
                      EPT_LEVEL_4K)) {
        domain_crash(d, "out of memory for EPT02");
        return 0;
    }
    d->nested.ept02_fills++;
    return 0;
}

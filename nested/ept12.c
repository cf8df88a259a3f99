/* The walk of L1's EPT paging structures (SDM Vol. 3, "The Extended Page
 * Table Mechanism (EPT)").  See ept12.h. */
#include "ept12.h"

#define LEVELS      4
#define ADDR_51_12  0x000ffffffffff000ull

static uint64_t bits_range(unsigned hi, unsigned lo)
{
    return (~0ull >> (63 - hi)) & ~((1ull << lo) - 1);
}

/* Bits 51:N of an entry, reserved in every format (N = MAXPHYADDR). */
static uint64_t above_maxphyaddr(unsigned maxphyaddr)
{
    if (maxphyaddr >= 52)
        return 0;
    if (maxphyaddr < 12)
        maxphyaddr = 12;
    return bits_range(51, maxphyaddr);
}

/* The reserved bits of a present entry at `level`, by the SDM's tables of
 * EPT entry formats.  Bits 11:8 are accessed/dirty flags or ignored, bits
 * 63:52 ignored (the suppress-#VE, SPP, supervisor-shadow-stack, paging-
 * write and verify-guest-paging bits there are ignored without the
 * controls L1 is not offered). */
static uint64_t reserved_bits(const struct ept12_caps *c, unsigned level, bool large)
{
    uint64_t rsvd = above_maxphyaddr(c->maxphyaddr);
    switch (level) {
    case 4:
        return rsvd | bits_range(7, 3);        /* PML4E: 7:3 */
    case 3:
        if (!large)
            return rsvd | bits_range(6, 3);    /* PDPTE → page directory: 6:3 */
        /* 1 GiB page: 29:12; bit 7 itself without 1 GiB pages */
        return rsvd | bits_range(29, 12) | (c->page_1g ? 0 : EPT_LEAF_PS);
    case 2:
        if (!large)
            return rsvd | bits_range(6, 3);    /* PDE → page table: 6:3 */
        return rsvd | bits_range(20, 12) | (c->page_2m ? 0 : EPT_LEAF_PS);
    default:
        return rsvd;                            /* PTE: bit 7 ignored */
    }
}

/* SDM "EPT Misconfigurations" for a present entry. */
static bool misconfigured(const struct ept12_caps *c, uint64_t ent, unsigned level, bool leaf)
{
    unsigned xwr = ent & EPT_RWX;
    if (xwr == EPT_W || xwr == (EPT_W | EPT_X))
        return true;                            /* write-only, write/execute */
    if (xwr == EPT_X && !c->exec_only)
        return true;
    if (ent & reserved_bits(c, level, level > 1 && (ent & EPT_LEAF_PS)))
        return true;
    if (leaf) {
        unsigned mt = (ent & EPT_MT_MASK) >> EPT_MT_SHIFT;
        if (mt == 2 || mt == 3 || mt == 7)
            return true;
    }
    return false;
}

static unsigned index_of(uint64_t gpa, unsigned level)
{
    return (gpa >> (12 + 9 * (level - 1))) & 511;
}

/* One walk.  Fills r and the entries used (their addresses and values). */
static enum ept12_status walk_once(uint64_t eptp, uint64_t gpa, unsigned access,
                                   const struct ept12_caps *c, const struct ept12_mem *mem,
                                   struct ept12_result *r, uint64_t ent_gpa[LEVELS],
                                   uint64_t ent_val[LEVELS], unsigned *nr)
{
    *r = (struct ept12_result){ .status = EPT12_OK };
    *nr = 0;
    if (gpa >> 48) {
        /* A 4-level walk translates bits 47:0; no entry maps more. */
        r->level = 4;
        return r->status = EPT12_VIOLATION;
    }

    uint64_t table = eptp & ADDR_51_12;
    unsigned perms = EPT_RWX;
    for (unsigned level = LEVELS; level >= 1; level--) {
        uint64_t at = table | ((uint64_t)index_of(gpa, level) << 3);
        uint64_t ent;
        r->level = level;
        if (mem->read(mem->ctx, at, &ent)) {
            r->leaf = level == LEVELS ? 0 : ent_val[*nr - 1];
            return r->status = EPT12_BAD_TABLE;
        }
        r->leaf = ent;
        ent_gpa[*nr] = at;
        ent_val[*nr] = ent;
        (*nr)++;
        perms &= ent & EPT_RWX;
        if (!(ent & EPT_RWX)) {
            r->perms = 0;                       /* not present */
            return r->status = EPT12_VIOLATION;
        }
        bool leaf = level == 1 || ((level == 2 || level == 3) && (ent & EPT_LEAF_PS));
        if (misconfigured(c, ent, level, leaf))
            return r->status = EPT12_MISCONFIG;
        if (!leaf) {
            table = ent & ADDR_51_12;
            continue;
        }

        uint64_t size = ept_level_size(level);
        r->mapped = true;
        r->l1_gpa = (ent & ADDR_51_12 & ~(size - 1)) | (gpa & (size - 1));
        r->memtype = (ent & EPT_MT_MASK) >> EPT_MT_SHIFT;
        r->ipat = ent & EPT_IPAT;
        r->perms = perms;
        if ((access & EPT_RWX) & ~perms)
            return r->status = EPT12_VIOLATION;
        return r->status = EPT12_OK;
    }
    return r->status = EPT12_MISCONFIG;         /* not reached: level 1 is a leaf */
}

/* Sets the A/D flags of a successful walk.  Returns 0, 1 if an entry
 * changed under the walk, or -1 if its table is no longer L1 RAM. */
static int set_ad(const struct ept12_mem *mem, bool write, uint64_t ent_gpa[LEVELS],
                  uint64_t ent_val[LEVELS], unsigned nr, unsigned *failed)
{
    for (unsigned i = 0; i < nr; i++) {
        uint64_t bits = EPT_A;
        if (write && i == nr - 1)
            bits |= EPT_D;
        bits &= ~ent_val[i];
        if (!bits)
            continue;
        if (mem->set_bits(mem->ctx, ent_gpa[i], ent_val[i], bits)) {
            uint64_t now;
            *failed = i;
            return mem->read(mem->ctx, ent_gpa[i], &now) ? -1 : 1;
        }
        /* A table that points to itself uses one entry more than once. */
        for (unsigned j = i + 1; j < nr; j++) {
            if (ent_gpa[j] == ent_gpa[i] && ent_val[j] == ent_val[i])
                ent_val[j] |= bits;
        }
        ent_val[i] |= bits;
    }
    return 0;
}

enum ept12_status ept12_walk_caps(uint64_t eptp, uint64_t gpa, unsigned access,
                                  const struct ept12_caps *caps,
                                  const struct ept12_mem *mem, struct ept12_result *r)
{
    uint64_t ent_gpa[LEVELS], ent_val[LEVELS];
    unsigned nr;
    for (unsigned tries = 0; tries < EPT12_AD_TRIES; tries++) {
        enum ept12_status s = walk_once(eptp, gpa, access, caps, mem, r, ent_gpa, ent_val, &nr);
        if (s != EPT12_OK || !(eptp & BIT(6)))
            return s;
        unsigned failed = 0;
        int rc = set_ad(mem, access & EPT_W, ent_gpa, ent_val, nr, &failed);
        if (rc == 0)
            return s;
        if (rc < 0) {
            /* The table holding entry `failed` left L1 RAM under us. */
            unsigned level = LEVELS - failed;
            uint64_t named_by = failed ? ent_val[failed - 1] : 0;
            *r = (struct ept12_result){ .status = EPT12_BAD_TABLE, .level = level,
                                        .leaf = named_by };
            return r->status;
        }
    }
    *r = (struct ept12_result){ .status = EPT12_RETRY };
    return r->status;
}

void ept12_caps_from_msr(struct ept12_caps *c, uint64_t ept_vpid_cap, unsigned maxphyaddr)
{
    *c = (struct ept12_caps){
        .maxphyaddr = maxphyaddr,
        .exec_only = ept_vpid_cap & BIT(0),
        .page_2m = ept_vpid_cap & BIT(16),
        .page_1g = ept_vpid_cap & BIT(17),
    };
}

enum ept12_status ept12_walk(uint64_t eptp, uint64_t gpa, unsigned access,
                             unsigned maxphyaddr, bool exec_only_ok,
                             const struct ept12_mem *mem, struct ept12_result *r)
{
    const struct ept12_caps caps = {
        .maxphyaddr = maxphyaddr, .exec_only = exec_only_ok, .page_2m = true, .page_1g = true,
    };
    return ept12_walk_caps(eptp, gpa, access, &caps, mem, r);
}

uint64_t ept12_violation_qual_perms(const struct ept12_result *r)
{
    if (r->status != EPT12_VIOLATION)
        return 0;
    return (uint64_t)(r->perms & EPT_RWX) << 3;
}

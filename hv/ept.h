/* Extended page tables (SDM 29.3): building, walking, splitting and
 * permission changes.  Pure logic: table memory comes from `struct ept_mm`,
 * so the same code runs in the hv and in host unit tests.
 *
 * Levels: 4 = PML4E, 3 = PDPTE (1 GiB leaf), 2 = PDE (2 MiB leaf), 1 = PTE.
 */
#ifndef HV_EPT_H
#define HV_EPT_H

#include "lib.h"

#define EPT_R            BIT(0)
#define EPT_W            BIT(1)
#define EPT_X            BIT(2)
#define EPT_RWX          (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT     3
#define EPT_MT_UC        (0ul << EPT_MT_SHIFT)
#define EPT_MT_WB        (6ul << EPT_MT_SHIFT)
#define EPT_MT_MASK      (7ul << EPT_MT_SHIFT)
#define EPT_IPAT         BIT(6)
#define EPT_LEAF_PS      BIT(7)      /* large page at level 2/3 */
#define EPT_A            BIT(8)
#define EPT_D            BIT(9)
#define EPT_SPP          BIT(61)
/* Ignored by the CPU (bits 62:52 are available to software in a leaf):
 * the page is SPP-protected even while EPT_SPP is briefly cleared so that
 * log-dirty by write protection catches its first write. */
#define EPT_SW_SPP       BIT(52)
/* Ignored by the CPU: the page holds EPT12 entries of a nested domain and
 * is write-protected so that L0 sees every change (nested/ept02.c). */
#define EPT_SW_EPT12     BIT(53)
#define EPT_ADDR_MASK    0x000ffffffffff000ul
/* Bits a caller may give in `flags` for a leaf. */
#define EPT_LEAF_FLAGS   (EPT_RWX | EPT_MT_MASK | EPT_IPAT | EPT_SPP | EPT_SW_SPP | EPT_SW_EPT12)

#define EPT_LEVEL_4K     1
#define EPT_LEVEL_2M     2
#define EPT_LEVEL_1G     3

struct ept_mm {
    /* Returns the physical address of a zeroed 4 KiB table, or 0. */
    uint64_t (*alloc_table)(void *ctx);
    void (*free_table)(void *ctx, uint64_t pa);
    void *(*map)(void *ctx, uint64_t pa);
    void *ctx;
};

struct ept {
    uint64_t root;              /* physical address of the PML4 */
    const struct ept_mm *mm;
    uint64_t nr_tables;         /* including the root */
};

static inline uint64_t ept_level_size(unsigned level)
{
    return 1ul << (12 + 9 * (level - 1));
}

int ept_init(struct ept *e, const struct ept_mm *mm);
void ept_destroy(struct ept *e);
/* Removes every mapping but keeps the root table (an EPTP naming it stays
 * valid). */
void ept_clear(struct ept *e);

/* Maps [gpa, gpa+size) to [hpa, hpa+size) with `flags` (EPT_LEAF_FLAGS),
 * using leaves no larger than `max_level` and as large as alignment allows.
 * Existing large leaves that are partly covered are split first.
 * All addresses must be 4 KiB aligned.  Returns 0 or -1 (out of memory or
 * bad arguments; the tables stay consistent). */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size,
            uint64_t flags, unsigned max_level);
/* Removes mappings (splitting large leaves at the edges). */
int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);

/* Returns a pointer to the leaf entry mapping gpa (and its level), or NULL
 * if nothing maps it. */
uint64_t *ept_lookup(const struct ept *e, uint64_t gpa, unsigned *level);
/* Translates gpa to hpa; returns false if unmapped.  *flags gets the leaf. */
bool ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *leaf);
/* Splits the leaf that maps gpa until it is at most `level`.  Returns 0,
 * or -1 out of memory. */
int ept_split(struct ept *e, uint64_t gpa, unsigned level);
/* For every mapped leaf in the range: entry = (entry & ~clear) | set, after
 * splitting leaves that straddle the edges.  Returns 0 or -1. */
int ept_update(struct ept *e, uint64_t gpa, uint64_t size, uint64_t clear, uint64_t set);

/* EPTP for VMCS: WB, 4-level walk, optional accessed/dirty flags. */
uint64_t ept_eptp(const struct ept *e, bool ad);

/* True if an entry is "present" (any of R/W/X, SDM 29.3.2). */
static inline bool ept_present(uint64_t ent) { return ent & EPT_RWX; }

#endif

/*
 * The SPP table (SDM 29.3.4.2): a 4-level table indexed like EPT by
 * guest-physical bits 47:39, 38:30, 29:21 and 20:12.  Non-leaf entries hold
 * a valid bit (0) and the next table's address (51:12); every other bit is
 * reserved.  A leaf (level 1) entry is the page's 64-bit write-permission
 * vector: bit 2i allows writes to the 128-byte sub-page i, odd bits are
 * reserved.  Pure logic over the EPT table allocator, so it runs in the hv
 * and in host unit tests.
 */
#ifndef FEATURES_SPP_SPPT_H
#define FEATURES_SPP_SPPT_H

#include "ept.h"

#define SPPT_VALID          BIT(0)
#define SPPT_ADDR_MASK      0x000ffffffffff000ul
/* Bits of a leaf that must be 0 (an SPP misconfiguration otherwise). */
#define SPPT_LEAF_RESERVED  0xaaaaaaaaaaaaaaaaul

struct sppt {
    uint64_t root;              /* physical address of the level-4 table, 0 if none */
    const struct ept_mm *mm;
    uint64_t nr_tables;         /* including the root */
};

/* The guest-facing 32-bit vector (bit i = sub-page i writable) and the
 * hardware's 64-bit leaf (bit 2i). */
uint64_t spp_vec_to_hw(uint32_t vec);
uint32_t spp_hw_to_vec(uint64_t hw);

/* Allocates the root.  0 or -1 (out of memory). */
int sppt_init(struct sppt *s, const struct ept_mm *mm);
/* Frees every table. */
void sppt_destroy(struct sppt *s);
/* The leaf (vector) entry for gpa.  With `create`, missing tables are
 * allocated (zeroed leaves: nothing writable); NULL if out of memory, if
 * the table is absent and !create, or gpa is beyond 48 bits. */
uint64_t *sppt_leaf(struct sppt *s, uint64_t gpa, bool create);
/* Frees the leaf table covering the 2 MiB region holding gpa (its level-2
 * entry becomes invalid).  Returns true if there was one. */
bool sppt_free_leaf_table(struct sppt *s, uint64_t gpa);

#endif

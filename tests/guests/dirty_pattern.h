/*
 * The write pattern shared by dirty_writer (which writes it) and logdirty
 * (which checks the dirty bitmaps against it).  Pages are numbered from
 * DIRTY_BASE (4 MiB, above any test guest's image and stacks) to the end
 * of the writer's RAM.  Round r writes exactly the pages dirty_round_page()
 * says; each round also has pages written many times, and rounds 1 and 5
 * write nothing.
 */
#ifndef DIRTY_PATTERN_H
#define DIRTY_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#define DIRTY_BASE     (4ull << 20)
#define DIRTY_ROUNDS   8

static inline uint64_t dirty_hash(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Is page p (index from DIRTY_BASE) written in round r?  npages: how many
 * pages the region holds. */
static inline bool dirty_round_page(unsigned r, uint64_t p, uint64_t npages)
{
    switch (r) {
    case 0: return dirty_hash(p * 7 + 1) % 13 == 0;         /* scattered */
    case 1: return false;                                    /* nothing */
    case 2: return p >= 512 && p < 1024 && p % 4 == 0;       /* inside one 2 MiB region */
    case 3: return p == 0 || p == npages - 1 || p == 511 || p == 512;  /* edges */
    case 4: return dirty_hash(p ^ 0xabcdef) % 3 == 0;        /* dense */
    case 5: return false;                                    /* nothing again */
    case 6: return p % 512 == 17;                            /* one per 2 MiB region */
    default: return dirty_hash(p + r * 1000003) % 29 == 0;
    }
}

/* How many times a written page is written in round r (1 or more). */
static inline unsigned dirty_times(unsigned r, uint64_t p)
{
    return 1 + (unsigned)(dirty_hash(p + r) % 4 == 0 ? 50 : 0);
}

#endif

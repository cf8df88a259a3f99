/* A fake physical-page allocator for table code under test (EPT, SPPT):
 * pages come from a host array at "physical" POOL_BASE; allocations are
 * zeroed, frees are poisoned, and counts let tests check for leaks.
 * The includer defines POOL_PAGES and POOL_BASE, and includes cmocka. */
#ifndef UNIT_FAKE_MM_H
#define UNIT_FAKE_MM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct fake_mm {
    uint64_t (*pages)[512];
    bool used[POOL_PAGES];
    unsigned allocs, frees, live;
    long budget;                    /* allocations left; < 0: unlimited */
};

static unsigned page_index(struct fake_mm *f, uint64_t pa)
{
    assert_true(pa >= POOL_BASE && (pa & 0xfff) == 0);
    unsigned i = (unsigned)((pa - POOL_BASE) >> 12);
    assert_true(i < POOL_PAGES);
    assert_true(f->used[i]);
    return i;
}

static uint64_t fake_alloc(void *ctx)
{
    struct fake_mm *f = ctx;
    if (f->budget == 0)
        return 0;
    for (unsigned i = 0; i < POOL_PAGES; i++) {
        if (!f->used[i]) {
            if (f->budget > 0)
                f->budget--;
            f->used[i] = true;
            /* Dirty on free, zeroed on allocation, as the contract says. */
            memset(f->pages[i], 0, 4096);
            f->allocs++;
            f->live++;
            return POOL_BASE + ((uint64_t)i << 12);
        }
    }
    return 0;
}

static void fake_free(void *ctx, uint64_t pa)
{
    struct fake_mm *f = ctx;
    unsigned i = page_index(f, pa);
    memset(f->pages[i], 0xa5, 4096);
    f->used[i] = false;
    f->frees++;
    f->live--;
}

static void *fake_map(void *ctx, uint64_t pa)
{
    struct fake_mm *f = ctx;
    return f->pages[page_index(f, pa)];
}

#endif

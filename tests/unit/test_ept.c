/* hv/ept.c: EPT building, walking, splitting, permission updates.
 * Tables come from a fake allocator whose "physical addresses" index a host
 * array of pages; it counts allocations and frees and can run out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ept.h"

#define POOL_PAGES 2048
#define POOL_BASE  0x40000000ul     /* "physical" address of page 0 */

#include "fake_mm.h"

struct fixture {
    struct fake_mm f;
    struct ept_mm mm;
    struct ept e;
};

static int setup(void **state)
{
    struct fixture *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->f.pages = calloc(POOL_PAGES, 4096);
    assert_non_null(x->f.pages);
    x->f.budget = -1;
    x->mm = (struct ept_mm){ fake_alloc, fake_free, fake_map, &x->f };
    assert_int_equal(ept_init(&x->e, &x->mm), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *x = *state;
    if (x->e.root)
        ept_destroy(&x->e);
    free(x->f.pages);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static unsigned count_tables(struct fixture *x, uint64_t pa, unsigned level)
{
    uint64_t *t = fake_map(&x->f, pa);
    unsigned n = 1;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t ent = t[i];
        if (!ept_present(ent) || level == 1)
            continue;
        if (ent & EPT_LEAF_PS) {
            assert_true(level == 2 || level == 3);      /* no PS in a PML4E */
            continue;
        }
        /* Non-leaf entries grant everything and point at a live table. */
        assert_int_equal(ent & ~EPT_ADDR_MASK, EPT_RWX);
        n += count_tables(x, ent & EPT_ADDR_MASK, level - 1);
    }
    return n;
}

/* Every table reachable from the root is allocated, and the counts agree. */
static void assert_consistent(struct fixture *x)
{
    unsigned n = count_tables(x, x->e.root, 4);
    assert_int_equal(n, x->e.nr_tables);
    assert_int_equal(n, x->f.live);
}

static void assert_maps(struct fixture *x, uint64_t gpa, uint64_t hpa, unsigned level,
                        uint64_t flags)
{
    uint64_t got, leaf;
    unsigned l = 0;
    assert_true(ept_translate(&x->e, gpa, &got, &leaf));
    assert_int_equal(got, hpa);
    assert_non_null(ept_lookup(&x->e, gpa, &l));
    assert_int_equal(l, level);
    assert_int_equal(leaf & ~EPT_ADDR_MASK & ~EPT_LEAF_PS, flags);
    assert_int_equal(!!(leaf & EPT_LEAF_PS), level > 1);
}

static void assert_unmapped(struct fixture *x, uint64_t gpa)
{
    unsigned l = 99;
    assert_false(ept_translate(&x->e, gpa, NULL, NULL));
    assert_null(ept_lookup(&x->e, gpa, &l));
    assert_int_equal(l, 99);
}

#define RWX_WB (EPT_RWX | EPT_MT_WB)

/* ---- init / destroy / eptp --------------------------------------------- */

static void init_allocates_only_the_root(void **state)
{
    struct fixture *x = *state;
    assert_int_not_equal(x->e.root, 0);
    assert_int_equal(x->e.nr_tables, 1);
    assert_int_equal(x->f.allocs, 1);
    assert_unmapped(x, 0);
}

static void init_fails_when_allocator_is_empty(void **state)
{
    struct fixture *x = *state;
    struct ept e2;
    x->f.budget = 0;
    assert_int_equal(ept_init(&e2, &x->mm), -1);
    assert_int_equal(e2.root, 0);
    assert_int_equal(e2.nr_tables, 0);
    ept_destroy(&e2);           /* harmless on a failed init */
    assert_int_equal(x->f.frees, 0);
}

static void eptp_is_wb_4level_with_optional_ad(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_eptp(&x->e, false), x->e.root | 6 | (3 << 3));
    assert_int_equal(ept_eptp(&x->e, true), x->e.root | 6 | (3 << 3) | (1 << 6));
    assert_int_equal(ept_eptp(&x->e, false) & EPT_ADDR_MASK, x->e.root);
}

static void destroy_frees_every_table(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0x10000000, 4 * MiB + 8 * KiB, RWX_WB, 3), 0);
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_map(&x->e, 0x7f0000000000ul, 0x1000, 4096, EPT_R, 1), 0);
    assert_int_equal(ept_split(&x->e, 1 * GiB + 6 * MiB, 1), 0);
    assert_consistent(x);
    assert_true(x->f.allocs > 5);
    ept_destroy(&x->e);
    assert_int_equal(x->e.root, 0);
    assert_int_equal(x->e.nr_tables, 0);
    assert_int_equal(x->f.frees, x->f.allocs);
    assert_int_equal(x->f.live, 0);
}

/* ---- map: leaf sizes ------------------------------------------------------ */

static void map_4k_leaf_when_not_2m_aligned(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0x1000, 0x5000, 4096, RWX_WB, 3), 0);
    assert_maps(x, 0x1000, 0x5000, 1, RWX_WB);
    assert_maps(x, 0x1fff, 0x5fff, 1, RWX_WB);
    assert_unmapped(x, 0);
    assert_unmapped(x, 0x2000);
    assert_int_equal(x->e.nr_tables, 4);    /* PML4, PDPT, PD, PT */
    assert_consistent(x);
}

static void map_2m_leaf_when_aligned(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 2 * MiB, 6 * MiB, 2 * MiB, RWX_WB, 3), 0);
    assert_maps(x, 2 * MiB, 6 * MiB, 2, RWX_WB);
    assert_maps(x, 2 * MiB + 0x12345, 6 * MiB + 0x12345, 2, RWX_WB);
    assert_maps(x, 4 * MiB - 1, 8 * MiB - 1, 2, RWX_WB);
    assert_unmapped(x, 4 * MiB);
    assert_int_equal(x->e.nr_tables, 3);
    assert_consistent(x);
}

static void map_1g_leaf_when_aligned(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 1 * GiB, 3 * GiB, 1 * GiB, EPT_R | EPT_X, 3), 0);
    assert_maps(x, 1 * GiB, 3 * GiB, 3, EPT_R | EPT_X);
    assert_maps(x, 2 * GiB - 4096, 4 * GiB - 4096, 3, EPT_R | EPT_X);
    assert_unmapped(x, 2 * GiB);
    assert_int_equal(x->e.nr_tables, 2);
    assert_consistent(x);
}

static void map_respects_max_level(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, EPT_LEVEL_2M), 0);
    assert_maps(x, 0, 0, 2, RWX_WB);
    assert_maps(x, 1 * GiB - 2 * MiB, 1 * GiB - 2 * MiB, 2, RWX_WB);
    assert_int_equal(ept_map(&x->e, 1 * GiB, 1 * GiB, 2 * MiB, RWX_WB, EPT_LEVEL_4K), 0);
    assert_maps(x, 1 * GiB, 1 * GiB, 1, RWX_WB);
    assert_maps(x, 1 * GiB + 2 * MiB - 4096, 1 * GiB + 2 * MiB - 4096, 1, RWX_WB);
    assert_consistent(x);
}

static void map_mixes_leaf_sizes_by_alignment(void **state)
{
    struct fixture *x = *state;
    /* [2M-4K, 4M+4K): a 4K page, a 2M leaf, a 4K page. */
    assert_int_equal(ept_map(&x->e, 2 * MiB - 4096, 2 * MiB - 4096, 2 * MiB + 8192, RWX_WB, 3), 0);
    assert_maps(x, 2 * MiB - 4096, 2 * MiB - 4096, 1, RWX_WB);
    assert_maps(x, 2 * MiB, 2 * MiB, 2, RWX_WB);
    assert_maps(x, 4 * MiB, 4 * MiB, 1, RWX_WB);
    assert_unmapped(x, 4 * MiB + 4096);
    assert_unmapped(x, 2 * MiB - 8192);
    assert_consistent(x);
}

static void map_hpa_alignment_limits_leaf_size(void **state)
{
    struct fixture *x = *state;
    /* gpa is 1G-aligned but hpa only 4K-aligned: 4K leaves only. */
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0x1000, 4 * MiB, RWX_WB, 3), 0);
    assert_maps(x, 1 * GiB, 0x1000, 1, RWX_WB);
    assert_maps(x, 1 * GiB + 3 * MiB, 3 * MiB + 0x1000, 1, RWX_WB);
    /* hpa 2M-aligned: 2M leaves even though gpa is 1G-aligned. */
    assert_int_equal(ept_map(&x->e, 2 * GiB, 2 * MiB, 1 * GiB, RWX_WB, 3), 0);
    assert_maps(x, 2 * GiB, 2 * MiB, 2, RWX_WB);
    assert_consistent(x);
}

static void map_keeps_every_leaf_flag(void **state)
{
    struct fixture *x = *state;
    uint64_t fl = EPT_R | EPT_MT_UC | EPT_IPAT | EPT_SPP;
    assert_int_equal(ept_map(&x->e, 0x3000, 0x9000, 4096, fl, 1), 0);
    assert_maps(x, 0x3000, 0x9000, 1, fl);
}

static void map_translate_without_outputs(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 4096, EPT_R, 1), 0);
    assert_true(ept_translate(&x->e, 0x10, NULL, NULL));
    assert_non_null(ept_lookup(&x->e, 0x10, NULL));
}

static void map_last_page_below_48_bits(void **state)
{
    struct fixture *x = *state;
    uint64_t top = (1ul << 48) - 4096;
    assert_int_equal(ept_map(&x->e, top, 0x2000, 4096, EPT_RWX, 3), 0);
    assert_maps(x, top, 0x2000, 1, EPT_RWX);
    assert_consistent(x);
}

static void addresses_beyond_48_bits_do_not_alias_low_memory(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0x200000, 2 * MiB, RWX_WB, 3), 0);
    assert_unmapped(x, 1ul << 48);
    assert_unmapped(x, (1ul << 63) | 0x1000);
    assert_int_equal(ept_unmap(&x->e, 1ul << 48, 4096), 0);
    assert_int_equal(ept_update(&x->e, 1ul << 48, 4096, EPT_RWX, 0), 0);
    assert_int_equal(ept_split(&x->e, 1ul << 48, EPT_LEVEL_4K), 0);
    assert_maps(x, 0, 0x200000, 2, RWX_WB);
    assert_consistent(x);
}

/* ---- map: replacing existing mappings ------------------------------------ */

static void map_inside_large_leaf_splits_it(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_map(&x->e, 5 * MiB, 0x80000000, 4096, EPT_R, 3), 0);
    assert_maps(x, 5 * MiB, 0x80000000, 1, EPT_R);
    assert_maps(x, 5 * MiB + 4096, 5 * MiB + 4096, 1, RWX_WB);
    assert_maps(x, 5 * MiB - 4096, 5 * MiB - 4096, 1, RWX_WB);
    assert_maps(x, 4 * MiB - 4096, 4 * MiB - 4096, 2, RWX_WB);
    assert_maps(x, 6 * MiB, 6 * MiB, 2, RWX_WB);
    assert_maps(x, 1 * GiB - 1, 1 * GiB - 1, 2, RWX_WB);
    assert_consistent(x);
}

static void map_large_leaf_over_table_frees_the_subtree(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0x100000, 2 * MiB, RWX_WB, 1), 0);
    assert_int_equal(ept_map(&x->e, 2 * MiB, 0x100000, 4096, RWX_WB, 1), 0);
    assert_int_equal(x->e.nr_tables, 5);
    /* One 1G leaf replaces the PD and both page tables. */
    assert_int_equal(ept_map(&x->e, 0, 4 * GiB, 1 * GiB, EPT_R, 3), 0);
    assert_int_equal(x->e.nr_tables, 2);
    assert_int_equal(x->f.frees, 3);
    assert_maps(x, 0x1000, 4 * GiB + 0x1000, 3, EPT_R);
    assert_maps(x, 2 * MiB, 4 * GiB + 2 * MiB, 3, EPT_R);
    assert_consistent(x);
}

static void map_remaps_existing_4k_page(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0x1000, 0x1000, 4096, RWX_WB, 1), 0);
    unsigned tables = x->e.nr_tables;
    assert_int_equal(ept_map(&x->e, 0x1000, 0x7000, 4096, EPT_R, 1), 0);
    assert_maps(x, 0x1000, 0x7000, 1, EPT_R);
    assert_int_equal(x->e.nr_tables, tables);
}

/* ---- map: bad arguments --------------------------------------------------- */

static void assert_map_rejected(struct fixture *x, uint64_t gpa, uint64_t hpa, uint64_t size,
                                uint64_t flags, unsigned max_level)
{
    unsigned allocs = x->f.allocs;
    assert_int_equal(ept_map(&x->e, gpa, hpa, size, flags, max_level), -1);
    assert_int_equal(x->f.allocs, allocs);      /* nothing built */
    assert_int_equal(x->e.nr_tables, 1);
}

static void map_rejects_unaligned_addresses(void **state)
{
    struct fixture *x = *state;
    assert_map_rejected(x, 0x1001, 0x1000, 4096, EPT_RWX, 3);
    assert_map_rejected(x, 0x1000, 0x1800, 4096, EPT_RWX, 3);
    assert_map_rejected(x, 0x1000, 0x1000, 4095, EPT_RWX, 3);
    assert_map_rejected(x, 0x1000, 0x1000, 4097, EPT_RWX, 3);
    assert_unmapped(x, 0x1000);
}

static void map_rejects_flags_outside_leaf_flags(void **state)
{
    struct fixture *x = *state;
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | EPT_LEAF_PS, 3);
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | EPT_A, 3);
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | EPT_D, 3);
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | 0x1000, 3);          /* address bit */
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | BIT(63), 3);         /* suppress #VE */
    assert_map_rejected(x, 0, 0, 4096, EPT_RWX | BIT(10), 3);
}

static void map_rejects_bad_max_level(void **state)
{
    struct fixture *x = *state;
    assert_map_rejected(x, 0, 0, 1 * GiB, EPT_RWX, 0);
    assert_map_rejected(x, 0, 0, 1 * GiB, EPT_RWX, 4);
    assert_map_rejected(x, 0, 0, 1 * GiB, EPT_RWX, 99);
}

static void map_rejects_gpa_overflow_and_beyond_48_bits(void **state)
{
    struct fixture *x = *state;
    assert_map_rejected(x, 0xfffffffffffff000ul, 0, 0x2000, EPT_RWX, 3);    /* wraps */
    assert_map_rejected(x, 0x1000, 0, 0xfffffffffffff000ul, EPT_RWX, 3);    /* wraps */
    assert_map_rejected(x, 1ul << 48, 0, 4096, EPT_RWX, 3);
    assert_map_rejected(x, (1ul << 48) - 4096, 0, 8192, EPT_RWX, 3);        /* crosses */
    assert_unmapped(x, 0);
}

static void map_rejects_hpa_overflow_and_beyond_52_bits(void **state)
{
    struct fixture *x = *state;
    /* A host address that wraps, or has bits above the entry's address
     * field, would land in the entry's flag bits or map host page 0. */
    assert_map_rejected(x, 0, 0xfffffffffffff000ul, 0x2000, EPT_RWX, 3);
    assert_map_rejected(x, 0, 1ul << 52, 4096, EPT_RWX, 3);
    assert_map_rejected(x, 0, (1ul << 52) - 4096, 8192, EPT_RWX, 3);
    assert_int_equal(ept_map(&x->e, 0, (1ul << 52) - 4096, 4096, EPT_RWX, 3), 0);
    assert_maps(x, 0, (1ul << 52) - 4096, 1, EPT_RWX);
}

/* ---- map: running out of memory ----------------------------------------- */

static void map_out_of_memory_keeps_tables_consistent(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 2 * MiB, RWX_WB, 3), 0);
    /* 4 MiB of 4K leaves at 1G needs a PD and two page tables. */
    x->f.budget = 2;
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0x10000000, 4 * MiB, RWX_WB, 1), -1);
    assert_consistent(x);
    assert_maps(x, 0, 0, 2, RWX_WB);
    /* What was mapped before the failure maps what it should. */
    assert_maps(x, 1 * GiB, 0x10000000, 1, RWX_WB);
    assert_maps(x, 1 * GiB + 2 * MiB - 4096, 0x10000000 + 2 * MiB - 4096, 1, RWX_WB);
    assert_unmapped(x, 1 * GiB + 2 * MiB);
    x->f.budget = -1;
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0x10000000, 4 * MiB, RWX_WB, 1), 0);
    assert_maps(x, 1 * GiB + 4 * MiB - 4096, 0x10000000 + 4 * MiB - 4096, 1, RWX_WB);
    assert_consistent(x);
}

static void map_out_of_memory_while_splitting_keeps_translations(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    x->f.budget = 1;            /* enough to split 1G -> 2M, not 2M -> 4K */
    assert_int_equal(ept_map(&x->e, 0x3000, 0x7000, 4096, EPT_R, 1), -1);
    assert_consistent(x);
    for (uint64_t g = 0; g < 1 * GiB; g += 2 * MiB - 4096)
        assert_maps(x, g, g, 2, RWX_WB);
}

/* ---- split ---------------------------------------------------------------- */

static void split_2m_keeps_every_4k_translation_and_attribute(void **state)
{
    struct fixture *x = *state;
    uint64_t fl = EPT_R | EPT_X | EPT_MT_WB | EPT_IPAT | EPT_SPP;
    assert_int_equal(ept_map(&x->e, 4 * MiB, 10 * MiB, 2 * MiB, fl, 3), 0);
    /* Accessed/dirty set by the "CPU" must survive the split too. */
    assert_int_equal(ept_update(&x->e, 4 * MiB, 2 * MiB, 0, EPT_A | EPT_D), 0);
    unsigned tables = x->e.nr_tables;
    assert_int_equal(ept_split(&x->e, 4 * MiB + 0x5000, EPT_LEVEL_4K), 0);
    assert_int_equal(x->e.nr_tables, tables + 1);
    for (uint64_t off = 0; off < 2 * MiB; off += 4096)
        assert_maps(x, 4 * MiB + off + 0x10, 10 * MiB + off + 0x10, 1, fl | EPT_A | EPT_D);
    assert_unmapped(x, 6 * MiB);
    assert_consistent(x);
}

static void split_1g_gives_2m_leaves_then_4k(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 2 * GiB, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_split(&x->e, 0, EPT_LEVEL_2M), 0);
    for (uint64_t g = 0; g < 1 * GiB; g += 2 * MiB)
        assert_maps(x, g + 0x1234, 2 * GiB + g + 0x1234, 2, RWX_WB);
    assert_int_equal(ept_split(&x->e, 7 * MiB, EPT_LEVEL_4K), 0);
    assert_maps(x, 6 * MiB, 2 * GiB + 6 * MiB, 1, RWX_WB);
    assert_maps(x, 8 * MiB - 4096, 2 * GiB + 8 * MiB - 4096, 1, RWX_WB);
    assert_maps(x, 8 * MiB, 2 * GiB + 8 * MiB, 2, RWX_WB);
    assert_maps(x, 4 * MiB, 2 * GiB + 4 * MiB, 2, RWX_WB);
    assert_consistent(x);
}

static void split_1g_straight_to_4k(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_split(&x->e, 3 * MiB, EPT_LEVEL_4K), 0);
    assert_maps(x, 3 * MiB, 3 * MiB, 1, RWX_WB);
    assert_maps(x, 1 * MiB, 1 * MiB, 2, RWX_WB);
    assert_int_equal(x->e.nr_tables, 4);
    assert_consistent(x);
}

static void split_of_small_or_unmapped_is_a_noop(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 4096, EPT_RWX, 1), 0);
    assert_int_equal(ept_map(&x->e, 2 * MiB, 2 * MiB, 2 * MiB, EPT_RWX, 3), 0);
    unsigned allocs = x->f.allocs;
    assert_int_equal(ept_split(&x->e, 0, EPT_LEVEL_4K), 0);
    assert_int_equal(ept_split(&x->e, 2 * MiB, EPT_LEVEL_2M), 0);
    assert_int_equal(ept_split(&x->e, 2 * MiB, EPT_LEVEL_1G), 0);
    assert_int_equal(ept_split(&x->e, 5 * GiB, EPT_LEVEL_4K), 0);
    assert_int_equal(x->f.allocs, allocs);
    assert_maps(x, 2 * MiB, 2 * MiB, 2, EPT_RWX);
}

static void split_rejects_level_zero(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0x5000, 4096, EPT_RWX, 1), 0);
    unsigned allocs = x->f.allocs;
    x->f.budget = 64;           /* bounds the damage if it loops */
    assert_int_equal(ept_split(&x->e, 0, 0), -1);
    assert_int_equal(x->f.allocs, allocs);
    assert_maps(x, 0, 0x5000, 1, EPT_RWX);
    assert_consistent(x);
}

static void split_out_of_memory_keeps_the_leaf(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 2 * MiB, 2 * MiB, 2 * MiB, RWX_WB, 3), 0);
    x->f.budget = 0;
    assert_int_equal(ept_split(&x->e, 2 * MiB, EPT_LEVEL_4K), -1);
    assert_maps(x, 2 * MiB + 0x3000, 2 * MiB + 0x3000, 2, RWX_WB);
    assert_consistent(x);
}

/* ---- update --------------------------------------------------------------- */

static void update_covering_whole_large_leaf_does_not_split(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_update(&x->e, 0, 1 * GiB, EPT_W, 0), 0);
    assert_int_equal(x->e.nr_tables, 2);
    assert_maps(x, 0x123000, 0x123000, 3, EPT_R | EPT_X | EPT_MT_WB);
}

static void update_straddling_2m_leaves_splits_at_the_edges(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 4 * MiB, RWX_WB, 3), 0);
    uint64_t ro = EPT_R | EPT_X | EPT_MT_WB;
    assert_int_equal(ept_update(&x->e, 1 * MiB, 2 * MiB, EPT_W, 0), 0);
    assert_maps(x, 0, 0, 1, RWX_WB);
    assert_maps(x, 1 * MiB - 4096, 1 * MiB - 4096, 1, RWX_WB);
    assert_maps(x, 1 * MiB, 1 * MiB, 1, ro);
    assert_maps(x, 2 * MiB, 2 * MiB, 1, ro);
    assert_maps(x, 3 * MiB - 4096, 3 * MiB - 4096, 1, ro);
    assert_maps(x, 3 * MiB, 3 * MiB, 1, RWX_WB);
    assert_maps(x, 4 * MiB - 4096, 4 * MiB - 4096, 1, RWX_WB);
    assert_consistent(x);
}

static void update_inside_1g_leaf_splits_only_what_it_must(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    /* [4M, 8M) is two whole 2M leaves after the 1G split. */
    assert_int_equal(ept_update(&x->e, 4 * MiB, 4 * MiB, EPT_W | EPT_X, 0), 0);
    assert_int_equal(x->e.nr_tables, 3);
    assert_maps(x, 2 * MiB, 2 * MiB, 2, RWX_WB);
    assert_maps(x, 4 * MiB, 4 * MiB, 2, EPT_R | EPT_MT_WB);
    assert_maps(x, 6 * MiB + 5, 6 * MiB + 5, 2, EPT_R | EPT_MT_WB);
    assert_maps(x, 8 * MiB, 8 * MiB, 2, RWX_WB);
    /* [8M+4K, 10M): the 2M leaf at 8M splits; its first page stays. */
    assert_int_equal(ept_update(&x->e, 8 * MiB + 4096, 2 * MiB - 4096, EPT_X, 0), 0);
    assert_int_equal(x->e.nr_tables, 4);
    assert_maps(x, 8 * MiB, 8 * MiB, 1, RWX_WB);
    assert_maps(x, 8 * MiB + 4096, 8 * MiB + 4096, 1, EPT_R | EPT_W | EPT_MT_WB);
    assert_maps(x, 10 * MiB - 4096, 10 * MiB - 4096, 1, EPT_R | EPT_W | EPT_MT_WB);
    assert_maps(x, 10 * MiB, 10 * MiB, 2, RWX_WB);
    assert_consistent(x);
}

static void update_single_page_in_1g_leaf(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0, 1 * GiB, RWX_WB, 3), 0);
    assert_int_equal(ept_update(&x->e, 1 * GiB + 0x7000, 4096, EPT_RWX, EPT_R), 0);
    assert_maps(x, 1 * GiB + 0x7000, 0x7000, 1, EPT_R | EPT_MT_WB);
    assert_maps(x, 1 * GiB + 0x6000, 0x6000, 1, RWX_WB);
    assert_maps(x, 1 * GiB + 0x8000, 0x8000, 1, RWX_WB);
    assert_maps(x, 1 * GiB + 2 * MiB, 2 * MiB, 2, RWX_WB);
    assert_consistent(x);
}

static void update_skips_unmapped_holes(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0x1000, 0x1000, 4096, EPT_RWX, 1), 0);
    assert_int_equal(ept_map(&x->e, 2 * MiB, 2 * MiB, 2 * MiB, EPT_RWX, 3), 0);
    assert_int_equal(ept_update(&x->e, 0, 8 * MiB, EPT_W, 0), 0);
    assert_maps(x, 0x1000, 0x1000, 1, EPT_R | EPT_X);
    assert_maps(x, 2 * MiB, 2 * MiB, 2, EPT_R | EPT_X);
    assert_unmapped(x, 0);
    assert_unmapped(x, 4 * MiB);
    assert_consistent(x);
}

static void update_may_set_accessed_and_dirty(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 4096, EPT_RWX, 1), 0);
    assert_int_equal(ept_update(&x->e, 0, 4096, 0, EPT_A | EPT_D), 0);
    assert_maps(x, 0, 0, 1, EPT_RWX | EPT_A | EPT_D);
    assert_int_equal(ept_update(&x->e, 0, 4096, EPT_A | EPT_D, 0), 0);
    assert_maps(x, 0, 0, 1, EPT_RWX);
}

static void update_rejects_bad_arguments(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 2 * MiB, EPT_RWX, 3), 0);
    assert_int_equal(ept_update(&x->e, 0x800, 4096, EPT_W, 0), -1);
    assert_int_equal(ept_update(&x->e, 0, 100, EPT_W, 0), -1);
    assert_int_equal(ept_update(&x->e, 0, 4096, EPT_LEAF_PS, 0), -1);
    assert_int_equal(ept_update(&x->e, 0, 4096, 0, EPT_LEAF_PS), -1);
    assert_int_equal(ept_update(&x->e, 0, 4096, 0, 0x1000), -1);      /* address bit */
    assert_int_equal(ept_update(&x->e, 0, 4096, EPT_ADDR_MASK, 0), -1);
    assert_int_equal(ept_update(&x->e, 0, 4096, 0, BIT(63)), -1);
    assert_maps(x, 0, 0, 2, EPT_RWX);
    assert_int_equal(x->e.nr_tables, 3);
}

static void update_out_of_memory_keeps_translations(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 1 * GiB, RWX_WB, 3), 0);
    x->f.budget = 1;
    assert_int_equal(ept_update(&x->e, 0x5000, 4096, EPT_W, 0), -1);
    assert_consistent(x);
    assert_maps(x, 0x5000, 0x5000, 2, RWX_WB);
    assert_maps(x, 512 * MiB, 512 * MiB, 2, RWX_WB);
}

/* ---- unmap ---------------------------------------------------------------- */

static void unmap_4k_inside_2m_leaf(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 2 * MiB, 8 * MiB, 2 * MiB, RWX_WB, 3), 0);
    assert_int_equal(ept_unmap(&x->e, 2 * MiB + 0x2000, 4096), 0);
    assert_unmapped(x, 2 * MiB + 0x2000);
    assert_maps(x, 2 * MiB + 0x1000, 8 * MiB + 0x1000, 1, RWX_WB);
    assert_maps(x, 2 * MiB + 0x3000, 8 * MiB + 0x3000, 1, RWX_WB);
    assert_maps(x, 4 * MiB - 4096, 10 * MiB - 4096, 1, RWX_WB);
    assert_consistent(x);
}

static void unmap_whole_1g_leaf_without_splitting(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 1 * GiB, 0, 1 * GiB, RWX_WB, 3), 0);
    unsigned allocs = x->f.allocs;
    assert_int_equal(ept_unmap(&x->e, 1 * GiB, 1 * GiB), 0);
    assert_int_equal(x->f.allocs, allocs);
    assert_unmapped(x, 1 * GiB);
    assert_unmapped(x, 2 * GiB - 1);
    assert_consistent(x);
}

static void unmap_range_straddling_leaves(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 4 * MiB, RWX_WB, 3), 0);
    assert_int_equal(ept_unmap(&x->e, 1 * MiB, 2 * MiB), 0);
    assert_maps(x, 1 * MiB - 4096, 1 * MiB - 4096, 1, RWX_WB);
    assert_unmapped(x, 1 * MiB);
    assert_unmapped(x, 2 * MiB);
    assert_unmapped(x, 3 * MiB - 4096);
    assert_maps(x, 3 * MiB, 3 * MiB, 1, RWX_WB);
    assert_consistent(x);
}

static void unmap_of_unmapped_range_is_ok(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_unmap(&x->e, 0, 4 * MiB), 0);
    assert_int_equal(x->e.nr_tables, 1);
}

static void unmap_rejects_unaligned(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 8192, EPT_RWX, 1), 0);
    assert_int_equal(ept_unmap(&x->e, 0x10, 4096), -1);
    assert_int_equal(ept_unmap(&x->e, 0, 4000), -1);
    assert_maps(x, 0, 0, 1, EPT_RWX);
}

static void unmap_out_of_memory_keeps_the_leaf(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 2 * MiB, RWX_WB, 3), 0);
    x->f.budget = 0;
    assert_int_equal(ept_unmap(&x->e, 0x1000, 4096), -1);
    assert_maps(x, 0x1000, 0x1000, 2, RWX_WB);
    assert_consistent(x);
}

static void unmap_then_destroy_frees_everything(void **state)
{
    struct fixture *x = *state;
    assert_int_equal(ept_map(&x->e, 0, 0, 64 * MiB, EPT_RWX, 1), 0);
    assert_int_equal(ept_unmap(&x->e, 0, 64 * MiB), 0);
    assert_consistent(x);
    ept_destroy(&x->e);
    assert_int_equal(x->f.live, 0);
    assert_int_equal(x->f.frees, x->f.allocs);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(init_allocates_only_the_root),
        T(init_fails_when_allocator_is_empty),
        T(eptp_is_wb_4level_with_optional_ad),
        T(destroy_frees_every_table),
        T(map_4k_leaf_when_not_2m_aligned),
        T(map_2m_leaf_when_aligned),
        T(map_1g_leaf_when_aligned),
        T(map_respects_max_level),
        T(map_mixes_leaf_sizes_by_alignment),
        T(map_hpa_alignment_limits_leaf_size),
        T(map_keeps_every_leaf_flag),
        T(map_translate_without_outputs),
        T(map_last_page_below_48_bits),
        T(addresses_beyond_48_bits_do_not_alias_low_memory),
        T(map_inside_large_leaf_splits_it),
        T(map_large_leaf_over_table_frees_the_subtree),
        T(map_remaps_existing_4k_page),
        T(map_rejects_unaligned_addresses),
        T(map_rejects_flags_outside_leaf_flags),
        T(map_rejects_bad_max_level),
        T(map_rejects_gpa_overflow_and_beyond_48_bits),
        T(map_rejects_hpa_overflow_and_beyond_52_bits),
        T(map_out_of_memory_keeps_tables_consistent),
        T(map_out_of_memory_while_splitting_keeps_translations),
        T(split_2m_keeps_every_4k_translation_and_attribute),
        T(split_1g_gives_2m_leaves_then_4k),
        T(split_1g_straight_to_4k),
        T(split_of_small_or_unmapped_is_a_noop),
        T(split_rejects_level_zero),
        T(split_out_of_memory_keeps_the_leaf),
        T(update_covering_whole_large_leaf_does_not_split),
        T(update_straddling_2m_leaves_splits_at_the_edges),
        T(update_inside_1g_leaf_splits_only_what_it_must),
        T(update_single_page_in_1g_leaf),
        T(update_skips_unmapped_holes),
        T(update_may_set_accessed_and_dirty),
        T(update_rejects_bad_arguments),
        T(update_out_of_memory_keeps_translations),
        T(unmap_4k_inside_2m_leaf),
        T(unmap_whole_1g_leaf_without_splitting),
        T(unmap_range_straddling_leaves),
        T(unmap_of_unmapped_range_is_ok),
        T(unmap_rejects_unaligned),
        T(unmap_out_of_memory_keeps_the_leaf),
        T(unmap_then_destroy_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* features-spp/sppt.c: the SPP table (SDM 29.3.4.2) and the conversion
 * between the guest's 32-bit vectors and the hardware's 64-bit leaves.
 * Tables come from a fake allocator whose "physical addresses" index a host
 * array of pages; it counts allocations and frees and can run out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "sppt.h"

#define POOL_PAGES 64
#define POOL_BASE  0x80000000ul

#include "fake_mm.h"

struct fixture {
    struct fake_mm f;
    struct ept_mm mm;
    struct sppt s;
};

static int setup(void **state)
{
    struct fixture *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->f.pages = calloc(POOL_PAGES, 4096);
    assert_non_null(x->f.pages);
    x->f.budget = -1;
    x->mm = (struct ept_mm){ fake_alloc, fake_free, fake_map, &x->f };
    assert_int_equal(sppt_init(&x->s, &x->mm), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *x = *state;
    sppt_destroy(&x->s);
    assert_int_equal(x->f.live, 0);
    free(x->f.pages);
    free(x);
    return 0;
}

/* Tables reachable from the root; non-leaf entries are exactly valid bit +
 * address (every other bit of them is reserved: SPP misconfiguration). */
static unsigned count_tables(struct fixture *x, uint64_t pa, unsigned level)
{
    uint64_t *t = fake_map(&x->f, pa);
    unsigned n = 1;
    for (unsigned i = 0; level > 1 && i < 512; i++) {
        if (!t[i])
            continue;
        assert_int_equal(t[i] & ~SPPT_ADDR_MASK, SPPT_VALID);
        n += count_tables(x, t[i] & SPPT_ADDR_MASK, level - 1);
    }
    return n;
}

static void assert_consistent(struct fixture *x)
{
    unsigned n = x->s.root ? count_tables(x, x->s.root, 4) : 0;
    assert_int_equal(n, x->s.nr_tables);
    assert_int_equal(n, x->f.live);
}

/* Walks by hand, as the CPU does (Bochs spp_walk): index bits 47:39,
 * 38:30, 29:21, 20:12. */
static uint64_t *hand_walk(struct fixture *x, uint64_t gpa)
{
    uint64_t pa = x->s.root;
    for (unsigned l = 4; l > 1; l--) {
        uint64_t ent = ((uint64_t *)fake_map(&x->f, pa))[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (!(ent & SPPT_VALID))
            return NULL;
        pa = ent & SPPT_ADDR_MASK;
    }
    return &((uint64_t *)fake_map(&x->f, pa))[(gpa >> 12) & 511];
}

/* ---- vectors ------------------------------------------------------------- */

static void vector_bit_i_is_hardware_bit_2i(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 32; i++) {
        assert_int_equal(spp_vec_to_hw(1u << i), 1ul << (2 * i));
        assert_int_equal(spp_hw_to_vec(1ul << (2 * i)), 1u << i);
        assert_int_equal(spp_hw_to_vec(1ul << (2 * i + 1)), 0);     /* odd bits: reserved */
    }
    assert_int_equal(spp_vec_to_hw(0), 0);
    assert_int_equal(spp_vec_to_hw(0xffffffffu), 0x5555555555555555ul);
    assert_int_equal(spp_hw_to_vec(0xfffffffffffffffful), 0xffffffffu);
}

static void vector_round_trip_never_sets_reserved_bits(void **state)
{
    (void)state;
    uint64_t s = 88172645463325252ull;
    for (unsigned n = 0; n < 100000; n++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        uint32_t v = (uint32_t)s;
        uint64_t hw = spp_vec_to_hw(v);
        assert_int_equal(hw & SPPT_LEAF_RESERVED, 0);
        assert_int_equal(spp_hw_to_vec(hw), v);
        assert_int_equal(__builtin_popcountll(hw), __builtin_popcount(v));
        /* The sub-page a CPU checks: bit 2 * gpa[11:7]. */
        unsigned off = (unsigned)(s >> 40) & 0xfff;
        assert_int_equal((hw >> (2 * (off >> 7))) & 1, (v >> (off / 128)) & 1);
    }
}

/* ---- tables -------------------------------------------------------------- */

static void init_allocates_only_the_root(void **state)
{
    struct fixture *x = *state;
    assert_int_not_equal(x->s.root, 0);
    assert_int_equal(x->s.nr_tables, 1);
    assert_int_equal(x->f.allocs, 1);
    assert_consistent(x);
}

static void init_fails_when_allocator_is_empty(void **state)
{
    struct fixture *x = *state;
    struct sppt s2;
    x->f.budget = 0;
    assert_int_equal(sppt_init(&s2, &x->mm), -1);
    assert_int_equal(s2.root, 0);
    assert_int_equal(s2.nr_tables, 0);
    assert_null(sppt_leaf(&s2, 0x1000, true));
    assert_false(sppt_free_leaf_table(&s2, 0));
    sppt_destroy(&s2);
    assert_int_equal(x->f.frees, 0);
}

static void lookup_without_create_allocates_nothing(void **state)
{
    struct fixture *x = *state;
    assert_null(sppt_leaf(&x->s, 0x400000, false));
    assert_int_equal(x->f.allocs, 1);
    assert_consistent(x);
}

static void create_builds_the_path_indexed_like_ept(void **state)
{
    struct fixture *x = *state;
    uint64_t gpa = 0x0000123456789000ul;
    uint64_t *leaf = sppt_leaf(&x->s, gpa, true);
    assert_non_null(leaf);
    assert_int_equal(x->s.nr_tables, 4);
    assert_ptr_equal(leaf, hand_walk(x, gpa));
    assert_int_equal(*leaf, 0);             /* new leaves: nothing writable */
    *leaf = spp_vec_to_hw(0x80000001u);
    assert_ptr_equal(sppt_leaf(&x->s, gpa + 0xfff, false), leaf);   /* the page's offset does not matter */
    assert_int_equal(*hand_walk(x, gpa), 0x4000000000000001ul);
    assert_consistent(x);
}

static void pages_share_tables_by_region(void **state)
{
    struct fixture *x = *state;
    uint64_t *a = sppt_leaf(&x->s, 4 * MiB, true);
    uint64_t *b = sppt_leaf(&x->s, 4 * MiB + 511 * 4096, true);    /* same 2 MiB region */
    assert_int_equal(x->s.nr_tables, 4);
    assert_ptr_equal(b, a + 511);
    assert_non_null(sppt_leaf(&x->s, 6 * MiB, true));               /* next region: one leaf table */
    assert_int_equal(x->s.nr_tables, 5);
    assert_non_null(sppt_leaf(&x->s, 1 * GiB + 4096, true));        /* next GiB: level 2 + leaf */
    assert_int_equal(x->s.nr_tables, 7);
    assert_non_null(sppt_leaf(&x->s, 512 * GiB, true));             /* next 512 GiB: 3 more */
    assert_int_equal(x->s.nr_tables, 10);
    assert_ptr_equal(sppt_leaf(&x->s, 4 * MiB + 4096, false), a + 1);
    assert_consistent(x);
}

static void beyond_48_bits_is_refused(void **state)
{
    struct fixture *x = *state;
    assert_null(sppt_leaf(&x->s, 1ul << 48, true));
    assert_null(sppt_leaf(&x->s, ~0ul, true));
    assert_false(sppt_free_leaf_table(&x->s, 1ul << 48));
    assert_non_null(sppt_leaf(&x->s, (1ul << 48) - 4096, true));   /* the last page is fine */
    assert_int_equal(x->s.nr_tables, 4);
    assert_null(sppt_leaf(&x->s, 0, false));                        /* and does not alias page 0 */
    assert_consistent(x);
}

static void free_leaf_table_frees_one_region(void **state)
{
    struct fixture *x = *state;
    uint64_t *a = sppt_leaf(&x->s, 8 * MiB, true);
    assert_non_null(sppt_leaf(&x->s, 10 * MiB, true));
    *a = 0x5;
    assert_int_equal(x->s.nr_tables, 5);
    assert_true(sppt_free_leaf_table(&x->s, 8 * MiB + 123 * 4096));
    assert_int_equal(x->s.nr_tables, 4);
    assert_null(sppt_leaf(&x->s, 8 * MiB, false));
    assert_null(hand_walk(x, 8 * MiB));
    assert_non_null(sppt_leaf(&x->s, 10 * MiB, false));
    assert_false(sppt_free_leaf_table(&x->s, 8 * MiB));             /* already gone */
    assert_false(sppt_free_leaf_table(&x->s, 100 * GiB));           /* never there */
    assert_consistent(x);
    /* A new leaf table for the region starts zeroed again. */
    a = sppt_leaf(&x->s, 8 * MiB, true);
    assert_int_equal(*a, 0);
    assert_consistent(x);
}

static void out_of_memory_keeps_tables_consistent(void **state)
{
    struct fixture *x = *state;
    /* No table, then one table at a time: each attempt fails part way. */
    static const long budgets[] = { 0, 1, 1 };
    for (unsigned i = 0; i < 3; i++) {
        x->f.budget = budgets[i];
        assert_null(sppt_leaf(&x->s, 3 * GiB + i * 4096, true));
        assert_consistent(x);
    }
    x->f.budget = -1;
    assert_non_null(sppt_leaf(&x->s, 3 * GiB, true));               /* reuses what was built */
    assert_int_equal(x->s.nr_tables, 4);
    assert_consistent(x);
}

static void destroy_frees_every_table(void **state)
{
    struct fixture *x = *state;
    for (uint64_t g = 0; g < 8 * GiB; g += 640 * MiB)
        assert_non_null(sppt_leaf(&x->s, g, true));
    assert_consistent(x);
    assert_true(x->f.allocs > 10);
    sppt_destroy(&x->s);
    assert_int_equal(x->s.root, 0);
    assert_int_equal(x->s.nr_tables, 0);
    assert_int_equal(x->f.frees, x->f.allocs);
    assert_int_equal(x->f.live, 0);
    assert_null(sppt_leaf(&x->s, 0, true));                          /* no root: nothing */
    sppt_destroy(&x->s);                                             /* twice is harmless */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(vector_bit_i_is_hardware_bit_2i),
        T(vector_round_trip_never_sets_reserved_bits),
        T(init_allocates_only_the_root),
        T(init_fails_when_allocator_is_empty),
        T(lookup_without_create_allocates_nothing),
        T(create_builds_the_path_indexed_like_ept),
        T(pages_share_tables_by_region),
        T(beyond_48_bits_is_refused),
        T(free_leaf_table_frees_one_region),
        T(out_of_memory_keeps_tables_consistent),
        T(destroy_frees_every_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nested/ept12.c: the walk of L1's EPT paging structures for an L2
 * guest-physical address.  L1 memory is a host array mapped at RAM_BASE;
 * the read and set_bits callbacks check every access and log the A/D
 * updates, and can simulate an L1 that changes entries under the walk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ept12.h"

#define RAM_BASE   0x100000ull
#define RAM_PAGES  8
#define MAXPHY     40

struct set_call {
    uint64_t gpa, old, bits;
};

struct fake {
    uint64_t ram[RAM_PAGES * 512];
    uint64_t ram_size;              /* bytes of RAM from RAM_BASE */
    unsigned reads;
    struct set_call sets[32];
    unsigned nsets;                 /* successful set_bits */
    unsigned set_fails;
    /* set_bits: this many times, change the entry and fail, like an L1
     * racing us: to race_val if race_set, else by flipping ignored bit 11. */
    unsigned race;
    bool race_set;
    uint64_t race_val;
    bool vanish;                    /* set_bits: RAM disappears, then fail */
};

static bool in_ram(struct fake *f, uint64_t gpa)
{
    return gpa >= RAM_BASE && gpa - RAM_BASE < f->ram_size;
}

static uint64_t *slot(struct fake *f, uint64_t gpa)
{
    return &f->ram[(gpa - RAM_BASE) / 8];
}

static int fake_read(void *ctx, uint64_t gpa, uint64_t *val)
{
    struct fake *f = ctx;
    assert_int_equal(gpa & 7, 0);
    f->reads++;
    if (!in_ram(f, gpa))
        return -1;
    *val = *slot(f, gpa);
    return 0;
}

static int fake_set_bits(void *ctx, uint64_t gpa, uint64_t old, uint64_t bits)
{
    struct fake *f = ctx;
    assert_int_equal(gpa & 7, 0);
    assert_int_equal(bits & ~(EPT_A | EPT_D), 0);      /* only A/D, ever */
    assert_int_not_equal(bits, 0);
    if (f->vanish)
        f->ram_size = 0;
    if (!in_ram(f, gpa)) {
        f->set_fails++;
        return -1;
    }
    if (f->race) {
        f->race--;
        *slot(f, gpa) = f->race_set ? f->race_val : *slot(f, gpa) ^ BIT(11);
        f->set_fails++;
        return -1;
    }
    if (*slot(f, gpa) != old) {
        f->set_fails++;
        return -1;
    }
    *slot(f, gpa) |= bits;
    if (f->nsets < ARRAY_SIZE(f->sets))        /* the first ones are logged */
        f->sets[f->nsets] = (struct set_call){ gpa, old, bits };
    f->nsets++;
    return 0;
}

static struct fake *F;
static struct ept12_mem MEM;

static int setup(void **state)
{
    F = calloc(1, sizeof(*F));
    assert_non_null(F);
    F->ram_size = RAM_PAGES * 4096;
    MEM = (struct ept12_mem){ fake_read, fake_set_bits, F };
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    free(F);
    F = NULL;
    (void)state;
    return 0;
}

/* ---- a standard EPT12 -------------------------------------------------- */

static uint64_t pg(unsigned n) { return RAM_BASE + n * 4096ull; }

/* The L2 address walked: indices 1, 2, 3, 4 at levels 4..1, offset 0x123. */
#define GPA  ((1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12) | 0x123)
/* The entries it uses: level 4 in page 0, level 3 in page 1, ... */
static uint64_t where(unsigned level)
{
    static const unsigned idx[5] = { 0, 4, 3, 2, 1 };
    return pg(4 - level) + idx[level] * 8;
}

static uint64_t get(unsigned level) { return *slot(F, where(level)); }
static void put(unsigned level, uint64_t v) { *slot(F, where(level)) = v; }

#define EPTP_AD   (pg(0) | 6 | (3 << 3) | BIT(6))
#define EPTP_NOAD (pg(0) | 6 | (3 << 3))
#define RWX_WB    (EPT_RWX | EPT_MT_WB)
#define PAGE4K    0x12345000ull
#define PAGE2M    0x40000000ull
#define PAGE1G    0x1c0000000ull

/* Non-leaf entries RWX to the next page; the leaf `flags` at `level`. */
static void build(unsigned leaf_level, uint64_t flags)
{
    for (unsigned l = 4; l > leaf_level; l--)
        put(l, pg(5 - l) | EPT_RWX);
    switch (leaf_level) {
    case 1: put(1, PAGE4K | flags); break;
    case 2: put(2, PAGE2M | EPT_LEAF_PS | flags); break;
    case 3: put(3, PAGE1G | EPT_LEAF_PS | flags); break;
    default: fail();
    }
}

static uint64_t expect_gpa(unsigned leaf_level)
{
    switch (leaf_level) {
    case 1: return PAGE4K | (GPA & 0xfff);
    case 2: return PAGE2M | (GPA & 0x1fffff);
    default: return PAGE1G | (GPA & 0x3fffffff);
    }
}

static const struct ept12_caps CAPS = { MAXPHY, true, true, true };

static enum ept12_status walk_caps(uint64_t eptp, uint64_t gpa, unsigned access,
                                   const struct ept12_caps *c, struct ept12_result *r)
{
    memset(r, 0xa5, sizeof(*r));        /* every field must be written */
    return ept12_walk_caps(eptp, gpa, access, c, &MEM, r);
}

static enum ept12_status walk(unsigned access, struct ept12_result *r)
{
    return walk_caps(EPTP_AD, GPA, access, &CAPS, r);
}

static void assert_ok(const struct ept12_result *r, unsigned level, uint64_t l1_gpa,
                      unsigned perms)
{
    assert_int_equal(r->status, EPT12_OK);
    assert_true(r->mapped);
    assert_int_equal(r->level, level);
    assert_int_equal(r->l1_gpa, l1_gpa);
    assert_int_equal(r->perms, perms);
}

static void assert_fault(const struct ept12_result *r, enum ept12_status s, unsigned level)
{
    assert_int_equal(r->status, s);
    assert_int_equal(r->level, level);
    if (s != EPT12_VIOLATION || !r->mapped) {
        assert_false(r->mapped);
        assert_int_equal(r->l1_gpa, 0);
        assert_int_equal(r->memtype, 0);
        assert_false(r->ipat);
    }
    if (s != EPT12_VIOLATION)
        assert_int_equal(r->perms, 0);
}

/* A snapshot of the four entries, to check that a walk changed nothing. */
struct snap { uint64_t e[5]; };
static struct snap snap(void)
{
    struct snap s = { { 0, get(1), get(2), get(3), get(4) } };
    return s;
}
static void assert_unchanged(struct snap s)
{
    for (unsigned l = 1; l <= 4; l++)
        assert_int_equal(get(l), s.e[l]);
}

/* ---- translation ------------------------------------------------------- */

static void leaf_4k_with_offset(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB | EPT_IPAT);
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_RWX);
    assert_int_equal(r.memtype, 6);
    assert_true(r.ipat);
    assert_int_equal(r.leaf, PAGE4K | RWX_WB | EPT_IPAT);
    assert_int_equal(F->reads, 4);
    (void)state;
}

static void leaf_2m_with_offset(void **state)
{
    struct ept12_result r;
    build(2, RWX_WB);
    assert_int_equal(walk(EPT_R | EPT_W | EPT_X, &r), EPT12_OK);
    assert_ok(&r, 2, expect_gpa(2), EPT_RWX);
    assert_int_equal(r.l1_gpa, 0x40004123ull);
    assert_false(r.ipat);
    assert_int_equal(F->reads, 3);
    (void)state;
}

static void leaf_1g_with_offset(void **state)
{
    struct ept12_result r;
    build(3, EPT_R | EPT_X | EPT_MT_UC);
    assert_int_equal(walk(EPT_X, &r), EPT12_OK);
    assert_ok(&r, 3, PAGE1G + (3ull << 21) + (4ull << 12) + 0x123, EPT_R | EPT_X);
    assert_int_equal(r.memtype, 0);
    assert_int_equal(F->reads, 2);
    (void)state;
}

/* Table addresses come from bits N-1:12 of each entry and the EPTP; the
 * low bits of the EPTP (type, walk length, A/D) are not address bits. */
static void tables_found_by_address(void **state)
{
    struct ept12_result r;
    /* Reverse the table order: PML4 in page 7, then 6, 5, 4. */
    *slot(F, pg(7) + 8) = pg(6) | EPT_RWX;
    *slot(F, pg(6) + 16) = pg(5) | EPT_RWX;
    *slot(F, pg(5) + 24) = pg(4) | EPT_RWX;
    *slot(F, pg(4) + 32) = 0xabcdef000ull | RWX_WB;
    assert_int_equal(walk_caps(pg(7) | 6 | (3 << 3) | BIT(6), GPA, EPT_R, &CAPS, &r), EPT12_OK);
    assert_ok(&r, 1, 0xabcdef123ull, EPT_RWX);
    (void)state;
}

static void permissions_are_anded_across_levels(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    put(4, get(4) & ~EPT_X);                    /* RW */
    put(3, get(3) & ~EPT_W);                    /* RX */
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_R);
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);
    assert_int_equal(r.perms, EPT_R);
    assert_int_equal(walk(EPT_X, &r), EPT12_VIOLATION);
    assert_int_equal(r.perms, EPT_R);
    (void)state;
}

static void read_only_page_write_is_a_violation(void **state)
{
    struct ept12_result r;
    build(1, EPT_R | EPT_X | EPT_MT_WB);
    struct snap s = snap();
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 1);
    assert_true(r.mapped);                      /* the leaf was reached */
    assert_int_equal(r.l1_gpa, PAGE4K | 0x123);
    assert_int_equal(r.perms, EPT_R | EPT_X);
    assert_int_equal(r.memtype, 6);
    assert_int_equal(r.leaf, PAGE4K | EPT_R | EPT_X | EPT_MT_WB);
    assert_int_equal(ept12_violation_qual_perms(&r), BIT(3) | BIT(5));
    assert_unchanged(s);                        /* no A flag on a fault */
    assert_int_equal(F->nsets, 0);
    /* A read-modify-write (R|W) fails the same way; a read passes. */
    assert_int_equal(walk(EPT_R | EPT_W, &r), EPT12_VIOLATION);
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    (void)state;
}

static void upper_level_denies_write(void **state)
{
    struct ept12_result r;
    build(2, RWX_WB);
    put(4, get(4) & ~EPT_W);
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 2);      /* stopped at the 2 MiB leaf */
    assert_true(r.mapped);
    assert_int_equal(r.perms, EPT_R | EPT_X);
    assert_int_equal(ept12_violation_qual_perms(&r), BIT(3) | BIT(5));
    (void)state;
}

static void fetch_from_non_executable_page(void **state)
{
    struct ept12_result r;
    build(3, EPT_R | EPT_W | EPT_MT_WB);
    assert_int_equal(walk(EPT_X, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 3);
    assert_int_equal(r.perms, EPT_R | EPT_W);
    assert_int_equal(ept12_violation_qual_perms(&r), BIT(3) | BIT(4));
    (void)state;
}

static void execute_only_pages(void **state)
{
    struct ept12_result r;
    build(1, EPT_X | EPT_MT_WB);
    assert_int_equal(walk(EPT_X, &r), EPT12_OK);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_X);
    assert_int_equal(walk(EPT_R, &r), EPT12_VIOLATION);
    assert_int_equal(ept12_violation_qual_perms(&r), BIT(5));
    /* Execute-only in a non-leaf entry too. */
    put(3, (get(3) & ~EPT_RWX) | EPT_X);
    put(1, PAGE4K | RWX_WB);
    assert_int_equal(walk(EPT_X, &r), EPT12_OK);
    assert_int_equal(r.perms, EPT_X);
    (void)state;
}

static void execute_only_unsupported_is_a_misconfiguration(void **state)
{
    struct ept12_caps c = CAPS;
    c.exec_only = false;
    struct ept12_result r;
    for (unsigned level = 1; level <= 4; level++) {
        build(1, RWX_WB);
        put(level, (get(level) & ~EPT_RWX) | EPT_X);
        assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_X, &c, &r), EPT12_MISCONFIG);
        assert_fault(&r, EPT12_MISCONFIG, level);
        assert_int_equal(r.leaf, get(level));
        /* ... and fine with execute-only support. */
        assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_X, &CAPS, &r), EPT12_OK);
    }
    /* The brief's interface passes the capability directly. */
    build(2, EPT_X | EPT_MT_WB);
    assert_int_equal(ept12_walk(EPTP_AD, GPA, EPT_X, MAXPHY, false, &MEM, &r), EPT12_MISCONFIG);
    assert_int_equal(ept12_walk(EPTP_AD, GPA, EPT_X, MAXPHY, true, &MEM, &r), EPT12_OK);
    (void)state;
}

static void not_present_at_each_level(void **state)
{
    struct ept12_result r;
    for (unsigned level = 1; level <= 4; level++) {
        memset(F->ram, 0, sizeof(F->ram));
        build(1, RWX_WB);
        put(level, 0);
        F->reads = 0;
        assert_int_equal(walk(EPT_R, &r), EPT12_VIOLATION);
        assert_fault(&r, EPT12_VIOLATION, level);
        assert_false(r.mapped);
        assert_int_equal(r.perms, 0);
        assert_int_equal(r.leaf, 0);
        assert_int_equal(ept12_violation_qual_perms(&r), 0);
        assert_int_equal(F->reads, 5 - level);  /* stopped there */
        assert_int_equal(F->nsets, 0);
    }
    (void)state;
}

/* With bits 2:0 clear nothing else counts: not even reserved bits. */
static void not_present_ignores_every_other_bit(void **state)
{
    struct ept12_result r;
    for (unsigned level = 1; level <= 4; level++) {
        build(1, RWX_WB);
        put(level, ~(uint64_t)EPT_RWX);
        assert_int_equal(walk(EPT_R, &r), EPT12_VIOLATION);
        assert_fault(&r, EPT12_VIOLATION, level);
        assert_int_equal(r.perms, 0);
        assert_int_equal(r.leaf, ~(uint64_t)EPT_RWX);
    }
    (void)state;
}

/* A not-present entry below an entry that denies the access: still a
 * violation with all permission bits 0 (not the upper entry's). */
static void not_present_below_a_denying_entry(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    put(4, (get(4) & ~EPT_RWX) | EPT_R);
    put(2, 0);
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 2);
    assert_int_equal(r.perms, 0);
    (void)state;
}

static void write_only_and_write_execute_are_misconfigurations(void **state)
{
    static const unsigned bad[] = { EPT_W, EPT_W | EPT_X };
    struct ept12_result r;
    for (unsigned b = 0; b < ARRAY_SIZE(bad); b++) {
        /* In each entry of a 4 KiB walk, and in 2 MiB and 1 GiB leaves. */
        for (unsigned level = 1; level <= 4; level++) {
            build(1, RWX_WB);
            put(level, (get(level) & ~EPT_RWX) | bad[b]);
            struct snap s = snap();
            assert_int_equal(walk(EPT_W, &r), EPT12_MISCONFIG);
            assert_fault(&r, EPT12_MISCONFIG, level);
            assert_int_equal(r.leaf, get(level));
            assert_unchanged(s);
        }
        for (unsigned level = 2; level <= 3; level++) {
            build(level, bad[b] | EPT_MT_WB);
            assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
            assert_fault(&r, EPT12_MISCONFIG, level);
        }
    }
    assert_int_equal(F->nsets, 0);
    (void)state;
}

/* A misconfiguration below an entry that denies the access wins: the
 * permissions are only checked on a complete walk. */
static void misconfiguration_beats_permissions(void **state)
{
    struct ept12_result r;
    build(1, EPT_R | EPT_MT_WB);
    put(4, (get(4) & ~EPT_RWX) | EPT_R);
    put(1, get(1) | BIT(MAXPHY));
    assert_int_equal(walk(EPT_W, &r), EPT12_MISCONFIG);
    assert_fault(&r, EPT12_MISCONFIG, 1);
    (void)state;
}

static void bits_above_maxphyaddr_are_reserved_everywhere(void **state)
{
    struct ept12_result r;
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        for (unsigned level = leaf; level <= 4; level++) {
            for (unsigned bit = MAXPHY; bit <= 51; bit++) {
                build(leaf, RWX_WB);
                put(level, get(level) | BIT(bit));
                assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
                assert_fault(&r, EPT12_MISCONFIG, level);
            }
        }
    }
    /* Bit N-1 is an address bit of a leaf. */
    build(1, RWX_WB);
    put(1, get(1) | BIT(MAXPHY - 1));
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, BIT(MAXPHY - 1) | PAGE4K | 0x123);
    (void)state;
}

static void maxphyaddr_sets_the_reserved_range(void **state)
{
    struct ept12_caps c = CAPS;
    struct ept12_result r;
    build(1, RWX_WB);
    put(1, get(1) | BIT(45));
    c.maxphyaddr = 46;
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, BIT(45) | PAGE4K | 0x123);
    c.maxphyaddr = 45;
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_MISCONFIG);
    /* 52 bits: nothing in 51:12 is reserved. */
    put(1, get(1) | BIT(51));
    c.maxphyaddr = 52;
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, BIT(51) | BIT(45) | PAGE4K | 0x123);
    /* Silly widths: below 12 every address bit is reserved (and the low
     * bits are not); above 52 nothing is. */
    build(1, RWX_WB);
    c.maxphyaddr = 3;
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_MISCONFIG);
    assert_fault(&r, EPT12_MISCONFIG, 4);
    *slot(F, pg(0)) = EPT_RWX;                  /* gpa 0: a PML4E naming table 0 */
    assert_int_equal(walk_caps(EPTP_AD, 0x10, EPT_R, &c, &r), EPT12_BAD_TABLE);
    assert_fault(&r, EPT12_BAD_TABLE, 3);       /* not a misconfiguration */
    c.maxphyaddr = 64;
    put(1, get(1) | BIT(51));
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_OK);
    (void)state;
}

static void pml4e_bits_7_to_3_are_reserved(void **state)
{
    struct ept12_result r;
    for (unsigned bit = 3; bit <= 7; bit++) {
        build(1, RWX_WB);
        put(4, get(4) | BIT(bit));
        assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
        assert_fault(&r, EPT12_MISCONFIG, 4);
    }
    (void)state;
}

static void table_entries_bits_6_to_3_are_reserved(void **state)
{
    struct ept12_result r;
    for (unsigned level = 2; level <= 3; level++) {
        for (unsigned bit = 3; bit <= 6; bit++) {
            build(1, RWX_WB);
            put(level, get(level) | BIT(bit));
            assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
            assert_fault(&r, EPT12_MISCONFIG, level);
        }
    }
    (void)state;
}

/* Setting bit 7 turns a PDPTE/PDE naming a table into a large leaf whose
 * table address (not 1 GiB / 2 MiB aligned) sets reserved bits. */
static void bit_7_makes_a_table_entry_a_bad_leaf(void **state)
{
    struct ept12_result r;
    for (unsigned level = 2; level <= 3; level++) {
        build(1, RWX_WB);
        put(level, get(level) | EPT_LEAF_PS);
        assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
        assert_fault(&r, EPT12_MISCONFIG, level);
    }
    (void)state;
}

static void large_leaf_low_address_bits_are_reserved(void **state)
{
    struct ept12_result r;
    for (unsigned bit = 12; bit <= 29; bit++) {
        build(3, RWX_WB);
        put(3, get(3) | BIT(bit));
        assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
        assert_fault(&r, EPT12_MISCONFIG, 3);
    }
    for (unsigned bit = 12; bit <= 20; bit++) {
        build(2, RWX_WB);
        put(2, get(2) | BIT(bit));
        assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
        assert_fault(&r, EPT12_MISCONFIG, 2);
    }
    /* The first address bit of each is fine. */
    build(3, RWX_WB);
    put(3, get(3) | BIT(30));
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, expect_gpa(3) | BIT(30));
    build(2, RWX_WB);
    put(2, get(2) | BIT(21));
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, expect_gpa(2) | BIT(21));
    (void)state;
}

/* Bits 11:8 (A, D, user-execute without MBEC, ignored) and 63:52 (ignored;
 * suppress #VE, SPP, shadow stack... without their controls) never matter,
 * and bit 7 of a PTE is ignored. */
static void ignored_bits_are_ignored(void **state)
{
    struct ept12_result r;
    uint64_t ign = BIT(8) | BIT(9) | BIT(10) | BIT(11) | 0xfff0000000000000ull;
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        for (unsigned level = leaf; level <= 4; level++) {
            build(leaf, RWX_WB);
            put(level, get(level) | ign);
            assert_int_equal(walk_caps(EPTP_NOAD, GPA, EPT_W, &CAPS, &r), EPT12_OK);
            assert_ok(&r, leaf, expect_gpa(leaf), EPT_RWX);
        }
    }
    build(1, RWX_WB | EPT_LEAF_PS);
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_RWX);
    (void)state;
}

static void valid_memory_types(void **state)
{
    static const unsigned ok[] = { 0, 1, 4, 5, 6 };   /* UC WC WT WP WB */
    struct ept12_result r;
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        for (unsigned i = 0; i < ARRAY_SIZE(ok); i++) {
            for (unsigned ipat = 0; ipat <= 1; ipat++) {
                build(leaf, EPT_RWX | ((uint64_t)ok[i] << 3) | (ipat ? EPT_IPAT : 0));
                assert_int_equal(walk(EPT_R, &r), EPT12_OK);
                assert_int_equal(r.memtype, ok[i]);
                assert_int_equal(r.ipat, ipat);
            }
        }
    }
    (void)state;
}

static void reserved_memory_types_are_misconfigurations(void **state)
{
    static const unsigned bad[] = { 2, 3, 7 };
    struct ept12_result r;
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
            build(leaf, EPT_RWX | ((uint64_t)bad[i] << 3));
            assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);
            assert_fault(&r, EPT12_MISCONFIG, leaf);
            assert_int_equal(r.leaf, get(leaf));
        }
    }
    assert_int_equal(F->nsets, 0);
    (void)state;
}

static void large_pages_not_offered(void **state)
{
    struct ept12_caps c = CAPS;
    struct ept12_result r;
    c.page_1g = false;
    build(3, RWX_WB);
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_MISCONFIG);
    assert_fault(&r, EPT12_MISCONFIG, 3);
    build(2, RWX_WB);
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_OK);
    c.page_2m = false;
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_MISCONFIG);
    assert_fault(&r, EPT12_MISCONFIG, 2);
    build(1, RWX_WB | EPT_LEAF_PS);             /* PTE bit 7: still ignored */
    assert_int_equal(walk_caps(EPTP_AD, GPA, EPT_R, &c, &r), EPT12_OK);
    (void)state;
}

static void caps_from_the_l1_msr(void **state)
{
    struct ept12_caps c;
    ept12_caps_from_msr(&c, 0x00000f0106334141ull, 40);    /* the reference L1 */
    assert_int_equal(c.maxphyaddr, 40);
    assert_true(c.exec_only && c.page_2m && c.page_1g);
    ept12_caps_from_msr(&c, BIT(6) | BIT(14), 36);
    assert_int_equal(c.maxphyaddr, 36);
    assert_false(c.exec_only || c.page_2m || c.page_1g);
    (void)state;
}

/* A 4-level walk translates bits 47:0: no entry maps an address above. */
static void address_beyond_48_bits(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    for (unsigned bit = 48; bit <= 63; bit++) {
        F->reads = 0;
        assert_int_equal(walk_caps(EPTP_AD, GPA | BIT(bit), EPT_R, &CAPS, &r), EPT12_VIOLATION);
        assert_fault(&r, EPT12_VIOLATION, 4);
        assert_int_equal(r.perms, 0);
        assert_int_equal(F->reads, 0);
    }
    (void)state;
}

/* ---- accessed and dirty flags ----------------------------------------- */

static void accessed_flag_on_every_entry_in_walk_order(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    struct snap s = snap();
    assert_int_equal(walk(EPT_R | EPT_X, &r), EPT12_OK);
    assert_int_equal(F->nsets, 4);
    for (unsigned i = 0; i < 4; i++) {
        unsigned level = 4 - i;
        assert_int_equal(F->sets[i].gpa, where(level));
        assert_int_equal(F->sets[i].old, s.e[level]);
        assert_int_equal(F->sets[i].bits, EPT_A);
        assert_int_equal(get(level), s.e[level] | EPT_A);
    }
    assert_int_equal(r.leaf, s.e[1]);           /* the leaf as read */
    /* Again: everything already set, nothing to do. */
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(F->nsets, 4);
    (void)state;
}

static void dirty_flag_on_the_leaf_for_a_write(void **state)
{
    struct ept12_result r;
    for (unsigned leaf = 1; leaf <= 3; leaf++) {
        memset(F->ram, 0, sizeof(F->ram));
        F->nsets = 0;
        build(leaf, RWX_WB);
        struct snap s = snap();
        assert_int_equal(walk(EPT_W, &r), EPT12_OK);
        assert_int_equal(F->nsets, 5 - leaf);
        for (unsigned level = 4; level >= leaf; level--) {
            uint64_t want = level == leaf ? EPT_A | EPT_D : EPT_A;
            assert_int_equal(F->sets[4 - level].bits, want);
            assert_int_equal(get(level), s.e[level] | want);
        }
    }
    (void)state;
}

static void only_missing_flags_are_set(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB | EPT_A);
    put(4, get(4) | EPT_A);
    put(2, get(2) | EPT_A | EPT_D);             /* D is ignored in a PDE to a table */
    assert_int_equal(walk(EPT_W, &r), EPT12_OK);
    assert_int_equal(F->nsets, 2);
    assert_int_equal(F->sets[0].gpa, where(3));
    assert_int_equal(F->sets[0].bits, EPT_A);
    assert_int_equal(F->sets[1].gpa, where(1));
    assert_int_equal(F->sets[1].bits, EPT_D);
    assert_int_equal(get(1), PAGE4K | RWX_WB | EPT_A | EPT_D);
    (void)state;
}

/* A read leaves D alone; a fetch too. */
static void no_dirty_flag_without_a_write(void **state)
{
    struct ept12_result r;
    build(2, RWX_WB);
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(walk(EPT_X, &r), EPT12_OK);
    assert_int_equal(get(2) & (EPT_A | EPT_D), EPT_A);
    assert_int_equal(get(3) & (EPT_A | EPT_D), EPT_A);
    (void)state;
}

static void nothing_set_without_ad_enabled(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    struct snap s = snap();
    assert_int_equal(walk_caps(EPTP_NOAD, GPA, EPT_W, &CAPS, &r), EPT12_OK);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_RWX);
    assert_int_equal(F->nsets + F->set_fails, 0);
    assert_unchanged(s);
    (void)state;
}

static void nothing_set_on_a_fault(void **state)
{
    struct ept12_result r;
    build(1, EPT_R | EPT_MT_WB);
    struct snap s = snap();
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);     /* permission */
    assert_unchanged(s);
    put(2, 0);
    s = snap();
    assert_int_equal(walk(EPT_R, &r), EPT12_VIOLATION);     /* not present */
    assert_unchanged(s);
    build(1, EPT_RWX | (7 << 3));
    s = snap();
    assert_int_equal(walk(EPT_R, &r), EPT12_MISCONFIG);     /* memory type */
    assert_unchanged(s);
    build(1, RWX_WB);
    put(2, (get(2) & ~EPT_ADDR_MASK) | pg(RAM_PAGES));
    s = snap();
    assert_int_equal(walk(EPT_R, &r), EPT12_BAD_TABLE);
    assert_unchanged(s);
    assert_int_equal(F->nsets + F->set_fails, 0);
    (void)state;
}

/* L1 changes an entry between our read and our A update: walk again. */
static void entry_changed_under_the_walk_is_walked_again(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    F->race = 1;                                /* flips bit 11 of the PML4E */
    assert_int_equal(walk(EPT_W, &r), EPT12_OK);
    assert_int_equal(F->set_fails, 1);
    assert_ok(&r, 1, PAGE4K | 0x123, EPT_RWX);
    assert_int_equal(r.leaf, PAGE4K | RWX_WB);
    for (unsigned l = 2; l <= 4; l++)
        assert_int_equal(get(l) & (EPT_A | EPT_D), EPT_A);
    assert_int_equal(get(4) & BIT(11), BIT(11)); /* L1's change kept */
    assert_int_equal(get(1) & (EPT_A | EPT_D), EPT_A | EPT_D);
    (void)state;
}

/* The changed entry now denies the access, or is gone: the walk again
 * reports that, and sets nothing. */
static void entry_changed_to_deny_under_the_walk(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    F->race = 1;
    F->race_set = true;
    F->race_val = pg(1) | EPT_R | EPT_X;        /* the PML4E loses W */
    assert_int_equal(walk(EPT_W, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 1);
    assert_int_equal(r.perms, EPT_R | EPT_X);
    assert_int_equal(F->nsets, 0);

    build(1, RWX_WB);
    F->race = 1;
    F->race_val = 0;                            /* the PML4E goes away */
    assert_int_equal(walk(EPT_R, &r), EPT12_VIOLATION);
    assert_fault(&r, EPT12_VIOLATION, 4);
    assert_int_equal(r.perms, 0);
    assert_int_equal(F->nsets, 0);
    (void)state;
}

static void endless_changes_give_up(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    F->race = 1000;
    assert_int_equal(walk(EPT_R, &r), EPT12_RETRY);
    assert_int_equal(F->set_fails, EPT12_AD_TRIES);
    assert_false(r.mapped);
    assert_int_equal(r.perms, 0);
    assert_int_equal(ept12_violation_qual_perms(&r), 0);
    (void)state;
}

static void table_leaves_ram_while_setting_flags(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    F->vanish = true;
    assert_int_equal(walk(EPT_R, &r), EPT12_BAD_TABLE);
    assert_fault(&r, EPT12_BAD_TABLE, 4);
    assert_int_equal(r.leaf, 0);
    /* Later in the walk: the PD's table vanishes after two A updates. */
    F->vanish = false;
    F->ram_size = RAM_PAGES * 4096;
    memset(F->ram, 0, sizeof(F->ram));
    build(1, RWX_WB);
    put(4, get(4) | EPT_A);
    put(3, get(3) | EPT_A);
    F->vanish = true;
    assert_int_equal(walk(EPT_R, &r), EPT12_BAD_TABLE);
    assert_fault(&r, EPT12_BAD_TABLE, 2);
    assert_int_equal(r.leaf, pg(2) | EPT_RWX | EPT_A);
    (void)state;
}

/* ---- tables outside L1 RAM, loops -------------------------------------- */

static void root_outside_ram(void **state)
{
    struct ept12_result r;
    const uint64_t roots[] = { 0, RAM_BASE - 4096, pg(RAM_PAGES), 0xffffffffff000ull };
    for (unsigned i = 0; i < ARRAY_SIZE(roots); i++) {
        assert_int_equal(walk_caps(roots[i] | 6 | (3 << 3) | BIT(6), GPA, EPT_R, &CAPS, &r),
                         EPT12_BAD_TABLE);
        assert_fault(&r, EPT12_BAD_TABLE, 4);
        assert_int_equal(r.leaf, 0);
    }
    (void)state;
}

static void table_outside_ram_at_each_level(void **state)
{
    struct ept12_result r;
    for (unsigned level = 2; level <= 4; level++) {
        build(1, RWX_WB);
        uint64_t e = (get(level) & ~EPT_ADDR_MASK) | pg(RAM_PAGES + 3);
        put(level, e);
        assert_int_equal(walk(EPT_R, &r), EPT12_BAD_TABLE);
        assert_fault(&r, EPT12_BAD_TABLE, level - 1);
        assert_int_equal(r.leaf, e);
        assert_int_equal(F->nsets, 0);
    }
    (void)state;
}

/* The leaf's target need not be L1 RAM: that is EPT01's business. */
static void leaf_outside_ram_is_a_translation(void **state)
{
    struct ept12_result r;
    build(1, RWX_WB);
    put(1, 0xfee00000ull | RWX_WB);
    assert_int_equal(walk(EPT_R, &r), EPT12_OK);
    assert_int_equal(r.l1_gpa, 0xfee00123ull);
    (void)state;
}

/* PML4[0] names the PML4 itself: for gpa 0 every level reads that entry,
 * which ends up as a 4 KiB leaf mapping the PML4 page. */
static void table_pointing_to_itself(void **state)
{
    struct ept12_result r;
    *slot(F, pg(0)) = pg(0) | EPT_RWX;
    assert_int_equal(walk_caps(EPTP_AD, 0x234, EPT_W, &CAPS, &r), EPT12_OK);
    assert_ok(&r, 1, pg(0) | 0x234, EPT_RWX);
    assert_int_equal(r.memtype, 0);
    assert_int_equal(F->reads, 4);
    /* One entry used four times: A once, then D on the leaf use. */
    assert_int_equal(F->nsets, 2);
    assert_int_equal(F->sets[0].bits, EPT_A);
    assert_int_equal(F->sets[1].bits, EPT_D);
    assert_int_equal(F->set_fails, 0);
    assert_int_equal(*slot(F, pg(0)), pg(0) | EPT_RWX | EPT_A | EPT_D);

    /* A cycle between two pages ends after four entries too. */
    memset(F->ram, 0, sizeof(F->ram));
    F->reads = 0;
    *slot(F, pg(0) + 8) = pg(1) | EPT_RWX;
    *slot(F, pg(1) + 8) = pg(0) | EPT_RWX;
    uint64_t gpa = (1ull << 39) | (1ull << 30) | (1ull << 21) | (1ull << 12);
    assert_int_equal(walk_caps(EPTP_NOAD, gpa, EPT_R, &CAPS, &r), EPT12_OK);
    assert_ok(&r, 1, pg(0), EPT_RWX);
    assert_int_equal(F->reads, 4);
    /* Self-reference with bit 7: a PML4E may not have it. */
    *slot(F, pg(0) + 8) = pg(0) | EPT_RWX | EPT_LEAF_PS;
    assert_int_equal(walk_caps(EPTP_NOAD, gpa, EPT_R, &CAPS, &r), EPT12_MISCONFIG);
    assert_fault(&r, EPT12_MISCONFIG, 4);
    (void)state;
}

/* ---- the exit qualification --------------------------------------------- */

static void qualification_bits(void **state)
{
    struct ept12_result r = { .status = EPT12_VIOLATION, .perms = EPT_RWX };
    assert_int_equal(ept12_violation_qual_perms(&r), 0x38);    /* bit 6 stays 0 */
    r.perms = EPT_W;
    assert_int_equal(ept12_violation_qual_perms(&r), BIT(4));
    r.perms = 0xff;                                             /* only 2:0 count */
    assert_int_equal(ept12_violation_qual_perms(&r), 0x38);
    r.status = EPT12_OK;
    assert_int_equal(ept12_violation_qual_perms(&r), 0);
    r.status = EPT12_MISCONFIG;
    assert_int_equal(ept12_violation_qual_perms(&r), 0);
    (void)state;
}

/* ---- random tables ------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random entry: mostly plausible (a valid or invalid permission
 * combination, a table or large-page address, a memory type), with
 * ignored bits often and reserved bits sometimes. */
static uint64_t random_entry(void)
{
    static const unsigned xwr[] = { 1, 3, 5, 7, 7, 7, 7, 7, 7, 4, 0, 2, 6 };
    uint64_t v = xwr[next() % ARRAY_SIZE(xwr)];
    switch (next() % 8) {
    case 0: v |= next() & 0x78; break;                  /* anything in 6:3 */
    case 1: v |= EPT_MT_WB | (next() & EPT_IPAT); break;
    default: break;                                     /* bits 6:3 = 0 */
    }
    uint64_t large = (next() % 16) << (next() % 2 ? 30 : 21);
    uint64_t table = pg(next() % (RAM_PAGES + 1));      /* in RAM, or just past */
    if (next() % 8 == 0)
        v |= EPT_LEAF_PS | (next() % 4 ? large : table);
    else
        v |= next() % 8 ? table : large;
    if (next() % 2)
        v |= next() & 0xfff0000000000f00ull;            /* ignored bits */
    if (next() % 16 == 0)
        v |= BIT(12 + next() % 40);                     /* address or reserved */
    return v;
}

/* Hostile random tables: the walk stays bounded, reads only aligned
 * addresses, sets only A/D flags and only after a complete walk, and its
 * results are self-consistent. */
static void random_tables(void **state)
{
    unsigned seen[5] = { 0 };
    struct ept12_result r;
    for (unsigned iter = 0; iter < 200000; iter++) {
        for (unsigned p = 0; p < RAM_PAGES; p++) {
            for (unsigned i = 0; i < 4; i++)
                F->ram[p * 512 + i] = random_entry();
        }
        uint64_t gpa = next() & 0xfff;
        for (unsigned l = 1; l <= 4; l++)
            gpa |= (next() % 4) << (12 + 9 * (l - 1));
        if (next() % 16 == 0)
            gpa ^= next();
        struct ept12_caps c = { 30 + next() % 23, next() & 1, next() & 1, next() & 1 };
        unsigned access = next() & 7;
        uint64_t eptp = pg(next() % RAM_PAGES) | 6 | (3 << 3) | (next() & 1 ? BIT(6) : 0);
        F->reads = 0;
        F->nsets = 0;
        enum ept12_status s = walk_caps(eptp, gpa, access, &c, &r);
        assert_int_equal(r.status, s);
        assert_int_not_equal(s, EPT12_RETRY);   /* nobody races here */
        assert_int_equal(F->set_fails, 0);
        assert_true(F->reads <= 4);
        assert_true(F->nsets <= 4);
        assert_true(r.level >= 1 && r.level <= 4);
        assert_int_equal(r.perms & ~EPT_RWX, 0);
        if (s == EPT12_OK) {
            assert_true(r.mapped);
            assert_int_equal(access & ~r.perms, 0);
            assert_int_equal(F->reads, 5 - r.level);
            uint64_t size = ept_level_size(r.level);
            assert_int_equal(r.l1_gpa & (size - 1), gpa & (size - 1));
            assert_int_equal(r.l1_gpa & ~(size - 1), r.leaf & EPT_ADDR_MASK & ~(size - 1));
            assert_true(r.memtype != 2 && r.memtype != 3 && r.memtype != 7);
            assert_int_equal(r.l1_gpa >> c.maxphyaddr, 0);
            if (!c.exec_only)
                assert_true((r.perms & EPT_R) || !r.perms);
        } else if (s == EPT12_VIOLATION && r.mapped) {
            assert_int_not_equal(access & ~r.perms, 0);
        } else {
            assert_false(r.mapped);
            assert_int_equal(r.l1_gpa, 0);
            if (s != EPT12_VIOLATION)
                assert_int_equal(r.perms, 0);
        }
        if (!(eptp & BIT(6)) || s != EPT12_OK)
            assert_int_equal(F->nsets, 0);
        seen[s]++;
    }
    /* The generator reaches every outcome often. */
    for (unsigned i = EPT12_OK; i <= EPT12_BAD_TABLE; i++)
        assert_true(seen[i] > 1000);
    (void)state;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(leaf_4k_with_offset),
        T(leaf_2m_with_offset),
        T(leaf_1g_with_offset),
        T(tables_found_by_address),
        T(permissions_are_anded_across_levels),
        T(read_only_page_write_is_a_violation),
        T(upper_level_denies_write),
        T(fetch_from_non_executable_page),
        T(execute_only_pages),
        T(execute_only_unsupported_is_a_misconfiguration),
        T(not_present_at_each_level),
        T(not_present_ignores_every_other_bit),
        T(not_present_below_a_denying_entry),
        T(write_only_and_write_execute_are_misconfigurations),
        T(misconfiguration_beats_permissions),
        T(bits_above_maxphyaddr_are_reserved_everywhere),
        T(maxphyaddr_sets_the_reserved_range),
        T(pml4e_bits_7_to_3_are_reserved),
        T(table_entries_bits_6_to_3_are_reserved),
        T(bit_7_makes_a_table_entry_a_bad_leaf),
        T(large_leaf_low_address_bits_are_reserved),
        T(ignored_bits_are_ignored),
        T(valid_memory_types),
        T(reserved_memory_types_are_misconfigurations),
        T(large_pages_not_offered),
        T(caps_from_the_l1_msr),
        T(address_beyond_48_bits),
        T(accessed_flag_on_every_entry_in_walk_order),
        T(dirty_flag_on_the_leaf_for_a_write),
        T(only_missing_flags_are_set),
        T(no_dirty_flag_without_a_write),
        T(nothing_set_without_ad_enabled),
        T(nothing_set_on_a_fault),
        T(entry_changed_under_the_walk_is_walked_again),
        T(entry_changed_to_deny_under_the_walk),
        T(endless_changes_give_up),
        T(table_leaves_ram_while_setting_flags),
        T(root_outside_ram),
        T(table_outside_ram_at_each_level),
        T(leaf_outside_ram_is_a_translation),
        T(table_pointing_to_itself),
        T(qualification_bits),
        T(random_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

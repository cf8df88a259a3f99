/* hv/guest_walk.c: guest linear -> guest physical translation through the
 * guest's own page tables (paging off, 32-bit, PAE, 4-level). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "guest_walk.h"

#define MEMSZ (64 * 4096)

#define P   BIT(0)
#define W   BIT(1)
#define PS  BIT(7)
#define NX  BIT(63)

#define CR0_PE BIT(0)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_LA57 BIT(12)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)

static uint8_t mem[MEMSZ];
static unsigned reads, want_size;

static bool read_gpa(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
    assert_ptr_equal(ctx, mem);
    assert_int_equal(size, want_size);
    assert_int_equal(gpa % size, 0);            /* entries are naturally aligned */
    reads++;
    if (gpa >= MEMSZ || MEMSZ - gpa < size)
        return false;
    *val = 0;
    memcpy(val, mem + gpa, size);
    return true;
}

static void put64(uint64_t gpa, uint64_t v) { memcpy(mem + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(mem + gpa, &v, 4); }

static struct walk_regs regs;

static int reset(void **state)
{
    (void)state;
    memset(mem, 0, sizeof(mem));
    memset(&regs, 0, sizeof(regs));
    reads = 0;
    return 0;
}

static enum walk_result walk(uint64_t gla, bool write, uint64_t *gpa)
{
    *gpa = 0xbad;
    return guest_walk(&regs, gla, write, read_gpa, mem, gpa);
}

static void expect_gpa(uint64_t gla, bool write, uint64_t want)
{
    uint64_t gpa;
    assert_int_equal(walk(gla, write, &gpa), WALK_OK);
    assert_int_equal(gpa, want);
}

static void expect_result(uint64_t gla, bool write, enum walk_result want)
{
    uint64_t gpa;
    assert_int_equal(walk(gla, write, &gpa), want);
}

/* ---- paging off -------------------------------------------------------------- */

static void paging_off_is_identity_truncated_to_32_bits(void **state)
{
    (void)state;
    regs.cr0 = CR0_PE;
    expect_gpa(0x12345678, true, 0x12345678);
    expect_gpa(0x123456789ul, false, 0x23456789);
    regs.cr0 = 0;                               /* real mode */
    expect_gpa(0xb8000, true, 0xb8000);
    assert_int_equal(reads, 0);
}

/* ---- 32-bit paging ------------------------------------------------------------- */

/* PD at 0x1000; PDE 1 -> PT at 0x2000; PTE 3 -> page 0x7000. */
static void setup_32(void)
{
    regs.cr0 = CR0_PE | CR0_PG | CR0_WP;
    regs.cr3 = 0x1000;
    want_size = 4;
    put32(0x1000 + 1 * 4, 0x2000 | P | W);
    put32(0x2000 + 3 * 4, 0x7000 | P | W);
}

#define GLA32 ((1u << 22) | (3u << 12) | 0xabc)

static void paging32_4k_page(void **state)
{
    (void)state;
    setup_32();
    expect_gpa(GLA32, false, 0x7abc);
    expect_gpa(GLA32, true, 0x7abc);
    assert_int_equal(reads, 4);
}

static void paging32_ignores_cr3_flags_and_gla_bits_above_31(void **state)
{
    (void)state;
    setup_32();
    regs.cr3 = 0x1000 | 0x18;                   /* PWT, PCD */
    expect_gpa(0xffffffff00000000ul | GLA32, false, 0x7abc);
}

static void paging32_4m_page_with_pse(void **state)
{
    (void)state;
    setup_32();
    regs.cr4 = CR4_PSE;
    put32(0x1000 + 2 * 4, 0x00c00000 | P | W | PS);
    expect_gpa((2u << 22) | 0x12345, true, 0xc12345);
    expect_gpa((2u << 22) | 0x3fffff, false, 0xffffff);
    expect_gpa(GLA32, false, 0x7abc);           /* 4K pages still work */
}

static void paging32_4m_page_pse36_high_bits(void **state)
{
    (void)state;
    setup_32();
    regs.cr4 = CR4_PSE;
    /* Bits 20:13 of the PDE are physical address bits 39:32. */
    put32(0x1000 + 5 * 4, 0x00400000 | (0x83u << 13) | P | PS);
    expect_gpa((5u << 22) | 0x2345, false, 0x8300402345ul);
}

static void paging32_ps_is_ignored_without_cr4_pse(void **state)
{
    (void)state;
    setup_32();
    put32(0x1000 + 1 * 4, 0x2000 | P | W | PS);
    expect_gpa(GLA32, false, 0x7abc);           /* PDE still points at a PT */
}

static void paging32_not_present_at_each_level(void **state)
{
    (void)state;
    setup_32();
    expect_result(0x00000000, false, WALK_NOT_PRESENT);     /* PDE 0 empty */
    put32(0x2000 + 3 * 4, 0x7000 | W);
    expect_result(GLA32, false, WALK_NOT_PRESENT);
    put32(0x1000 + 1 * 4, 0x2000 | W);
    expect_result(GLA32, false, WALK_NOT_PRESENT);
}

static void paging32_write_to_read_only_honours_cr0_wp(void **state)
{
    (void)state;
    setup_32();
    put32(0x2000 + 3 * 4, 0x7000 | P);
    expect_result(GLA32, true, WALK_NOT_WRITABLE);
    expect_gpa(GLA32, false, 0x7abc);
    regs.cr0 &= ~CR0_WP;
    expect_gpa(GLA32, true, 0x7abc);
    /* Read-only at the directory level. */
    setup_32();
    put32(0x1000 + 1 * 4, 0x2000 | P);
    expect_result(GLA32, true, WALK_NOT_WRITABLE);
    regs.cr4 = CR4_PSE;
    put32(0x1000 + 2 * 4, 0x00c00000 | P | PS);
    expect_result(2u << 22, true, WALK_NOT_WRITABLE);
    regs.cr0 &= ~CR0_WP;
    expect_gpa(2u << 22, true, 0xc00000);
}

static void paging32_table_outside_memory_is_bad_gpa(void **state)
{
    (void)state;
    setup_32();
    put32(0x1000 + 1 * 4, 0x80000000 | P | W);
    expect_result(GLA32, false, WALK_BAD_GPA);
    regs.cr3 = 0xfffff000;
    expect_result(GLA32, false, WALK_BAD_GPA);
}

/* ---- PAE ------------------------------------------------------------------------ */

/* PDPTE 1 -> PD 0x3000; PDE 5 -> PT 0x4000; PTE 7 -> page 0x9000. */
static void setup_pae(void)
{
    regs.cr0 = CR0_PE | CR0_PG | CR0_WP;
    regs.cr4 = CR4_PAE;
    regs.cr3 = 0x1000;                          /* the CPU already holds the PDPTEs */
    regs.pdpte[1] = 0x3000 | P;
    want_size = 8;
    put64(0x3000 + 5 * 8, 0x4000 | P | W);
    put64(0x4000 + 7 * 8, 0x9000 | P | W);
}

#define GLAPAE ((1ul << 30) | (5ul << 21) | (7ul << 12) | 0x123)

static void pae_4k_page(void **state)
{
    (void)state;
    setup_pae();
    expect_gpa(GLAPAE, true, 0x9123);
    assert_int_equal(reads, 2);                 /* PDPTEs come from the registers */
    expect_gpa(0xffffffff00000000ul | GLAPAE, false, 0x9123);
}

static void pae_2m_page(void **state)
{
    (void)state;
    setup_pae();
    put64(0x3000 + 6 * 8, 0x12200000ul | BIT(12) /* PAT */ | P | W | PS);
    expect_gpa((1ul << 30) | (6ul << 21) | 0x1abcde, true, 0x123abcde);
}

static void pae_pdpte_not_present(void **state)
{
    (void)state;
    setup_pae();
    expect_result(2ul << 30, false, WALK_NOT_PRESENT);
    expect_result(3ul << 30, false, WALK_NOT_PRESENT);
    assert_int_equal(reads, 0);
}

static void pae_not_present_pde_and_pte(void **state)
{
    (void)state;
    setup_pae();
    put64(0x4000 + 7 * 8, 0x9000 | W);
    expect_result(GLAPAE, false, WALK_NOT_PRESENT);
    put64(0x3000 + 5 * 8, 0x4000 | W);
    expect_result(GLAPAE, false, WALK_NOT_PRESENT);
}

static void pae_write_to_read_only_honours_cr0_wp(void **state)
{
    (void)state;
    setup_pae();
    put64(0x3000 + 5 * 8, 0x4000 | P);
    expect_result(GLAPAE, true, WALK_NOT_WRITABLE);
    expect_gpa(GLAPAE, false, 0x9123);
    regs.cr0 &= ~CR0_WP;
    expect_gpa(GLAPAE, true, 0x9123);
}

static void pae_nx_bit_is_not_part_of_the_address(void **state)
{
    (void)state;
    setup_pae();
    put64(0x4000 + 7 * 8, NX | 0x9000 | P | W);
    expect_gpa(GLAPAE, false, 0x9123);
}

static void pae_table_outside_memory_is_bad_gpa(void **state)
{
    (void)state;
    setup_pae();
    regs.pdpte[1] = 0x100000000ul | P;
    expect_result(GLAPAE, false, WALK_BAD_GPA);
    setup_pae();
    put64(0x3000 + 5 * 8, 0x7fff000ul | P | W);
    expect_result(GLAPAE, false, WALK_BAD_GPA);
}

/* ---- 4-level paging ----------------------------------------------------------- */

/* PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000 -> page 0xa000 */
static uint64_t gla4(unsigned l4, unsigned l3, unsigned l2, unsigned l1, unsigned off)
{
    uint64_t gla = ((uint64_t)l4 << 39) | ((uint64_t)l3 << 30) | ((uint64_t)l2 << 21) |
                   ((uint64_t)l1 << 12) | off;
    if (gla & BIT(47))
        gla |= 0xffff000000000000ul;
    return gla;
}

static void setup_long(unsigned l4, unsigned l3, unsigned l2, unsigned l1)
{
    regs.cr0 = CR0_PE | CR0_PG | CR0_WP;
    regs.cr4 = CR4_PAE;
    regs.efer = EFER_LME | EFER_LMA;
    regs.cr3 = 0x1000;
    want_size = 8;
    put64(0x1000 + l4 * 8, 0x2000 | P | W);
    put64(0x2000 + l3 * 8, 0x3000 | P | W);
    put64(0x3000 + l2 * 8, 0x4000 | P | W);
    put64(0x4000 + l1 * 8, 0xa000 | P | W);
}

static void long_mode_4k_page(void **state)
{
    (void)state;
    setup_long(0, 0, 0, 0);
    expect_gpa(0x0fff, true, 0xafff);
    assert_int_equal(reads, 4);
    reset(state);
    setup_long(1, 2, 3, 4);
    expect_gpa(gla4(1, 2, 3, 4, 0x567), false, 0xa567);
}

static void long_mode_upper_half_address(void **state)
{
    (void)state;
    setup_long(511, 510, 0, 1);
    expect_gpa(0xffffffff80001234ul, true, 0xa234);
    reset(state);
    setup_long(256, 0, 0, 0);
    expect_gpa(0xffff800000000042ul, false, 0xa042);
}

static void long_mode_2m_page(void **state)
{
    (void)state;
    setup_long(0, 1, 2, 0);
    put64(0x3000 + 2 * 8, 0x40200000ul | BIT(12) /* PAT */ | P | W | PS);
    expect_gpa(gla4(0, 1, 2, 0, 0) + 0x1fffff, true, 0x403fffff);
    assert_int_equal(reads, 3);
}

static void long_mode_1g_page(void **state)
{
    (void)state;
    setup_long(0, 3, 0, 0);
    put64(0x2000 + 3 * 8, 0x1c0000000ul | P | W | PS);
    expect_gpa(gla4(0, 3, 0, 0, 0) + 0x3fedcba9, true, 0x1ffedcba9ul);
    assert_int_equal(reads, 2);
}

static void long_mode_52_bit_address_without_flag_bits(void **state)
{
    (void)state;
    setup_long(0, 0, 0, 0);
    put64(0x4000, NX | (0x7fful << 52) | 0x000ffffffffff000ul | P | W);
    expect_gpa(0x10, false, 0x000ffffffffff010ul);
}

static void long_mode_not_present_at_each_level(void **state)
{
    (void)state;
    static const uint64_t table[] = { 0x1000, 0x2000, 0x3000, 0x4000 };
    for (unsigned level = 0; level < 4; level++) {
        reset(state);
        setup_long(1, 1, 1, 1);
        uint64_t e;
        memcpy(&e, mem + table[level] + 8, 8);
        put64(table[level] + 8, e & ~P);
        expect_result(gla4(1, 1, 1, 1, 0), false, WALK_NOT_PRESENT);
        assert_int_equal(reads, level + 1);     /* stops where it failed */
    }
}

static void long_mode_write_to_read_only_at_each_level(void **state)
{
    (void)state;
    static const uint64_t table[] = { 0x1000, 0x2000, 0x3000, 0x4000 };
    for (unsigned level = 0; level < 4; level++) {
        reset(state);
        setup_long(1, 1, 1, 1);
        uint64_t e;
        memcpy(&e, mem + table[level] + 8, 8);
        put64(table[level] + 8, e & ~W);
        uint64_t gla = gla4(1, 1, 1, 1, 0x10);
        expect_result(gla, true, WALK_NOT_WRITABLE);
        expect_gpa(gla, false, 0xa010);
        regs.cr0 &= ~CR0_WP;
        expect_gpa(gla, true, 0xa010);
    }
}

static void long_mode_read_only_large_pages(void **state)
{
    (void)state;
    setup_long(0, 0, 0, 0);
    put64(0x3000 + 1 * 8, 0x200000 | P | PS);
    expect_result(2 * MiB, true, WALK_NOT_WRITABLE);
    put64(0x2000 + 1 * 8, 0x40000000 | P | PS);
    expect_result(1 * GiB, true, WALK_NOT_WRITABLE);
    regs.cr0 &= ~CR0_WP;
    expect_gpa(1 * GiB + 5, true, 0x40000005);
}

static void long_mode_noncanonical_address(void **state)
{
    (void)state;
    setup_long(0, 0, 0, 0);
    expect_result(0x0000800000000000ul, false, WALK_NONCANONICAL);
    expect_result(0xffff7fffffffffff, false, WALK_NONCANONICAL);
    expect_result(0x0001000000000000ul, true, WALK_NONCANONICAL);
    expect_result(0x8000000000000000ul, false, WALK_NONCANONICAL);
    assert_int_equal(reads, 0);
}

static void long_mode_la57_is_unsupported(void **state)
{
    (void)state;
    setup_long(0, 0, 0, 0);
    regs.cr4 |= CR4_LA57;
    expect_result(0x1000, false, WALK_UNSUPPORTED);
    assert_int_equal(reads, 0);
}

static void long_mode_table_outside_memory_is_bad_gpa(void **state)
{
    (void)state;
    static const uint64_t table[] = { 0x1000, 0x2000, 0x3000 };
    for (unsigned level = 0; level < 3; level++) {
        reset(state);
        setup_long(0, 0, 0, 0);
        put64(table[level], 0x12345000ul | P | W);
        expect_result(0x1000, false, WALK_BAD_GPA);
        assert_int_equal(reads, level + 2);
    }
    reset(state);
    setup_long(0, 0, 0, 0);
    regs.cr3 = 0x8000000000ul;
    expect_result(0x1000, false, WALK_BAD_GPA);
    assert_int_equal(reads, 1);
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(paging_off_is_identity_truncated_to_32_bits),
        T(paging32_4k_page),
        T(paging32_ignores_cr3_flags_and_gla_bits_above_31),
        T(paging32_4m_page_with_pse),
        T(paging32_4m_page_pse36_high_bits),
        T(paging32_ps_is_ignored_without_cr4_pse),
        T(paging32_not_present_at_each_level),
        T(paging32_write_to_read_only_honours_cr0_wp),
        T(paging32_table_outside_memory_is_bad_gpa),
        T(pae_4k_page),
        T(pae_2m_page),
        T(pae_pdpte_not_present),
        T(pae_not_present_pde_and_pte),
        T(pae_write_to_read_only_honours_cr0_wp),
        T(pae_nx_bit_is_not_part_of_the_address),
        T(pae_table_outside_memory_is_bad_gpa),
        T(long_mode_4k_page),
        T(long_mode_upper_half_address),
        T(long_mode_2m_page),
        T(long_mode_1g_page),
        T(long_mode_52_bit_address_without_flag_bits),
        T(long_mode_not_present_at_each_level),
        T(long_mode_write_to_read_only_at_each_level),
        T(long_mode_read_only_large_pages),
        T(long_mode_noncanonical_address),
        T(long_mode_la57_is_unsupported),
        T(long_mode_table_outside_memory_is_bad_gpa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

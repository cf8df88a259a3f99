/* hv/loader.c: ELF32/ELF64, multiboot v1 and multiboot2 load plans.
 * Images are built in memory; each planner call sees an exact-size heap
 * copy so AddressSanitizer catches any read beyond the image. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loader.h"

#define MIN_GPA  0x100000ul
#define MEM      (16 * MiB)

static uint8_t img[48 * 1024];
static struct load_plan plan;
static char err[256];

static void w16(uint64_t off, uint16_t v) { img[off] = v; img[off + 1] = v >> 8; }
static void w32(uint64_t off, uint32_t v) { w16(off, v); w16(off + 2, v >> 16); }
static void w64(uint64_t off, uint64_t v) { w32(off, v); w32(off + 4, v >> 32); }

typedef int (*plan_fn)(const uint8_t *, uint64_t, uint64_t, uint64_t, struct load_plan *,
                       char *, size_t);

static int run(plan_fn fn, uint64_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    memcpy(copy, img, size);
    memset(err, 0, sizeof(err));
    memset(&plan, 0xcc, sizeof(plan));
    int r = fn(copy, size, MIN_GPA, MEM, &plan, err, sizeof(err));
    free(copy);
    return r;
}

static void expect_fail(plan_fn fn, uint64_t size, const char *needle)
{
    assert_int_equal(run(fn, size), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void expect_seg(unsigned i, uint64_t off, uint64_t filesz, uint64_t memsz, uint64_t gpa)
{
    assert_true(i < plan.nr);
    assert_int_equal(plan.seg[i].file_off, off);
    assert_int_equal(plan.seg[i].filesz, filesz);
    assert_int_equal(plan.seg[i].memsz, memsz);
    assert_int_equal(plan.seg[i].gpa, gpa);
}

/* ---- ELF image builder ---------------------------------------------------- */

#define PT_LOAD 1
#define PT_NOTE 4
#define ELF_SIZE 0x3000ul

static bool cur64;
enum ph_field { PH_TYPE, PH_OFF, PH_VADDR, PH_PADDR, PH_FILESZ, PH_MEMSZ };

static uint64_t phoff(void) { return cur64 ? 64 : 52; }
static uint64_t phent(void) { return cur64 ? 56 : 32; }

static void set_ph(unsigned i, enum ph_field f, uint64_t v)
{
    static const unsigned off64[] = { 0, 8, 16, 24, 32, 40 };
    static const unsigned off32[] = { 0, 4, 8, 12, 16, 20 };
    uint64_t base = phoff() + i * phent();
    if (f == PH_TYPE)
        w32(base, (uint32_t)v);
    else if (cur64)
        w64(base + off64[f], v);
    else
        w32(base + off32[f], (uint32_t)v);
}

static void set_phnum(unsigned n) { w16(cur64 ? 56 : 44, n); }
static void set_entry(uint64_t e) { if (cur64) w64(24, e); else w32(24, (uint32_t)e); }

static void seg(unsigned i, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t paddr,
                uint64_t filesz, uint64_t memsz)
{
    set_ph(i, PH_TYPE, type);
    set_ph(i, PH_OFF, off);
    set_ph(i, PH_VADDR, vaddr);
    set_ph(i, PH_PADDR, paddr);
    set_ph(i, PH_FILESZ, filesz);
    set_ph(i, PH_MEMSZ, memsz);
}

/* A valid executable: text [1M, +4K) from file 0x1000, data [2M, +12K) with
 * 2K of file bytes from 0x2000; entry 1M + 0x10. */
static uint64_t build_elf(bool is64)
{
    memset(img, 0, sizeof(img));
    cur64 = is64;
    memcpy(img, "\x7f" "ELF", 4);
    img[4] = is64 ? 2 : 1;
    img[5] = 1;
    img[6] = 1;
    w16(16, 2);                         /* ET_EXEC */
    w16(18, is64 ? 62 : 3);
    w32(20, 1);
    if (is64) {
        w64(32, 64);                    /* e_phoff */
        w16(52, 64);
        w16(54, 56);
    } else {
        w32(28, 52);
        w16(40, 52);
        w16(42, 32);
    }
    set_phnum(2);
    set_entry(0x100010);
    seg(0, PT_LOAD, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000);
    seg(1, PT_LOAD, 0x2000, 0x200000, 0x200000, 0x800, 0x3000);
    return ELF_SIZE;
}

static int elf(uint64_t size) { return run(elf_plan, size); }

/* ---- ELF: valid images ------------------------------------------------------ */

static void elf64_valid_image_plans_each_load_segment(void **state)
{
    (void)state;
    assert_int_equal(elf(build_elf(true)), 0);
    assert_int_equal(plan.nr, 2);
    expect_seg(0, 0x1000, 0x1000, 0x1000, 0x100000);
    expect_seg(1, 0x2000, 0x800, 0x3000, 0x200000);
    assert_int_equal(plan.entry, 0x100010);
    assert_int_equal(plan.end, 0x203000);
}

static void elf32_valid_image_plans_each_load_segment(void **state)
{
    (void)state;
    assert_int_equal(elf(build_elf(false)), 0);
    assert_int_equal(plan.nr, 2);
    expect_seg(0, 0x1000, 0x1000, 0x1000, 0x100000);
    expect_seg(1, 0x2000, 0x800, 0x3000, 0x200000);
    assert_int_equal(plan.entry, 0x100010);
    assert_int_equal(plan.end, 0x203000);
}

static void elf_skips_non_load_and_empty_segments(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_phnum(4);
    seg(2, PT_NOTE, 0xfffffff0, 0, 0, 0x100, 0x100);        /* garbage, ignored */
    seg(3, PT_LOAD, 0x1000, 0x50000, 0x50000, 0, 0);        /* empty: ignored */
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.nr, 2);
}

static void elf_entry_in_bss_is_accepted(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_entry(0x202000);
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.entry, 0x202000);
}

static void elf_segment_ending_at_ram_end_is_accepted(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(1, PT_LOAD, 0x2000, MEM - 0x3000, MEM - 0x3000, 0x800, 0x3000);
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.end, MEM);
}

static void elf_adjacent_segments_are_accepted(void **state)
{
    (void)state;
    uint64_t size = build_elf(false);
    seg(1, PT_LOAD, 0x2000, 0x101000, 0x101000, 0x800, 0x3000);
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.nr, 2);
}

static void elf_sixteen_segments_are_accepted(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_phnum(16);
    for (unsigned i = 0; i < 16; i++)
        seg(i, PT_LOAD, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0, 0x1000);
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.nr, 16);
    assert_int_equal(plan.end, 0x110000);
}

static void elf64_higher_half_entry_is_translated_to_physical(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(0, PT_LOAD, 0x1000, 0xffffffff80100000ul, 0x100000, 0x1000, 0x1000);
    set_entry(0xffffffff80100040ul);
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.entry, 0x100040);
    expect_seg(0, 0x1000, 0x1000, 0x1000, 0x100000);    /* loaded at paddr */
}

static void elf32_higher_half_entry_is_translated_to_physical(void **state)
{
    (void)state;
    uint64_t size = build_elf(false);
    seg(1, PT_LOAD, 0x2000, 0xc0200000, 0x200000, 0x800, 0x3000);
    set_entry(0xc0202ffc);                                  /* in its bss */
    assert_int_equal(elf(size), 0);
    assert_int_equal(plan.entry, 0x202ffc);
}

/* ---- ELF: malformed images --------------------------------------------------- */

static void elf_truncated_header_is_rejected(void **state)
{
    (void)state;
    build_elf(false);
    expect_fail(elf_plan, 0, "not an ELF image");
    expect_fail(elf_plan, 4, "not an ELF image");
    expect_fail(elf_plan, 51, "not an ELF image");
    build_elf(true);
    expect_fail(elf_plan, 52, "truncated ELF header");
    expect_fail(elf_plan, 63, "truncated ELF header");
}

static void elf_wrong_magic_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    img[0] = 0x7e;
    expect_fail(elf_plan, size, "not an ELF image");
    build_elf(true);
    img[3] = 'f';
    expect_fail(elf_plan, size, "not an ELF image");
}

static void elf_wrong_class_or_encoding_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    img[4] = 0;
    expect_fail(elf_plan, size, "ELF class 0");
    img[4] = 3;
    expect_fail(elf_plan, size, "ELF class 3");
    img[4] = 2;
    img[5] = 2;                         /* big-endian */
    expect_fail(elf_plan, size, "data encoding 2");
}

static void elf_wrong_machine_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    w16(18, 3);                         /* ELF64 with EM_386 */
    expect_fail(elf_plan, size, "ELF machine 3 is not x86");
    build_elf(false);
    w16(18, 62);                        /* ELF32 with EM_X86_64 */
    expect_fail(elf_plan, size, "ELF machine 62 is not x86");
    w16(18, 40);                        /* ARM */
    expect_fail(elf_plan, size, "ELF machine 40 is not x86");
}

static void elf_wrong_type_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    w16(16, 3);                         /* ET_DYN */
    expect_fail(elf_plan, size, "ELF type 3 is not an executable");
    w16(16, 1);                         /* ET_REL */
    expect_fail(elf_plan, size, "ELF type 1 is not an executable");
}

static void elf_wrong_phentsize_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    w16(54, 32);
    expect_fail(elf_plan, size, "bad program header table (entry size 32");
    build_elf(false);
    w16(42, 56);
    expect_fail(elf_plan, size, "bad program header table (entry size 56");
    w16(42, 0);
    expect_fail(elf_plan, size, "bad program header table");
}

static void elf_without_program_headers_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_phnum(0);
    expect_fail(elf_plan, size, "0 entries");
}

static void elf_program_headers_beyond_file_are_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    w64(32, size - 56 * 2 + 1);         /* last header one byte past the end */
    expect_fail(elf_plan, size, "program headers beyond the image");
    w64(32, 0xffffffffffffffc0ul);      /* offset + length wraps */
    expect_fail(elf_plan, size, "program headers beyond the image");
    build_elf(false);
    w32(28, 0xfffffff0);
    expect_fail(elf_plan, size, "program headers beyond the image");
    /* The table may end exactly at the end of the image. */
    build_elf(true);
    assert_int_equal(elf(64 + 2 * 56 + 0), -1);         /* segments beyond, but headers fit */
    assert_null(strstr(err, "program headers"));
}

static void elf_segment_file_bytes_beyond_file_are_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_ph(1, PH_FILESZ, 0x1001);       /* 0x2000 + 0x1001 > 0x3000 */
    expect_fail(elf_plan, size, "beyond the image");
    build_elf(true);
    set_ph(1, PH_OFF, 0xfffffffffffff000ul);    /* offset + size wraps */
    expect_fail(elf_plan, size, "beyond the image");
    build_elf(false);
    set_ph(0, PH_OFF, 0x3000);          /* starts at the end, 4K long */
    expect_fail(elf_plan, size, "beyond the image");
    /* Exactly up to the end is fine. */
    build_elf(true);
    set_ph(1, PH_FILESZ, 0x1000);
    assert_int_equal(elf(size), 0);
}

static void elf_filesz_above_memsz_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_ph(0, PH_FILESZ, 0x1000);
    set_ph(0, PH_MEMSZ, 0xfff);
    expect_fail(elf_plan, size, "exceeds memory size");
}

static void elf_segment_below_min_gpa_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(0, PT_LOAD, 0x1000, 0xff000, 0xff000, 0x1000, 0x1000);
    set_entry(0xff010);
    expect_fail(elf_plan, size, "outside guest RAM");
    build_elf(true);
    seg(0, PT_LOAD, 0x1000, 0x1000, 0xfffff, 0x1000, 0x1000);
    expect_fail(elf_plan, size, "outside guest RAM");
}

static void elf_segment_beyond_ram_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(1, PT_LOAD, 0x2000, MEM - 0x2000, MEM - 0x2000, 0x800, 0x3000);
    expect_fail(elf_plan, size, "outside guest RAM");
    build_elf(false);
    seg(1, PT_LOAD, 0x2000, MEM, MEM, 0x800, 0x3000);
    expect_fail(elf_plan, size, "outside guest RAM");
}

static void elf_overlapping_segments_are_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0x100fff, 0x100fff, 0x800, 0x3000);   /* last byte of text */
    expect_fail(elf_plan, size, "overlap");
    build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0xff000, 0xff000, 0x800, 0x3000);     /* below, into text */
    expect_fail(elf_plan, size, "outside guest RAM");            /* min_gpa checked first */
    build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0x100000, 0x100000, 0x800, 0x3000);   /* same start */
    expect_fail(elf_plan, size, "overlap");
    build_elf(false);
    seg(0, PT_LOAD, 0x1000, 0x1ff000, 0x1ff000, 0x1000, 0x2000);  /* into data */
    set_entry(0x1ff000);
    expect_fail(elf_plan, size, "overlap");
}

static void elf_entry_outside_segments_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_entry(0x101000);                /* one past the text */
    expect_fail(elf_plan, size, "entry point 0x101000 is not inside a loaded segment");
    set_entry(0);
    expect_fail(elf_plan, size, "is not inside a loaded segment");
    set_entry(0xffffffff80100000ul);
    expect_fail(elf_plan, size, "is not inside a loaded segment");
}

static void elf_more_than_16_segments_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_phnum(17);
    for (unsigned i = 0; i < 17; i++)
        seg(i, PT_LOAD, 0x1000, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0, 0x1000);
    expect_fail(elf_plan, size, "more than 16 loadable segments");
}

static void elf_address_overflow_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0, 0xfffffffffffff000ul, 0x800, 0x2000);   /* paddr + memsz wraps */
    expect_fail(elf_plan, size, "outside guest RAM");
    build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0, 0x200000, 0x800, 0xffffffffffffff00ul);  /* huge memsz */
    expect_fail(elf_plan, size, "outside guest RAM");
    build_elf(false);
    seg(1, PT_LOAD, 0x2000, 0, 0xfffff000, 0x800, 0x2000);             /* 32-bit: beyond RAM */
    expect_fail(elf_plan, size, "outside guest RAM");
}

static void elf_without_load_segments_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    set_ph(0, PH_TYPE, PT_NOTE);
    set_ph(1, PH_MEMSZ, 0);
    set_ph(1, PH_FILESZ, 0);
    expect_fail(elf_plan, size, "no loadable segments");
}

static void elf_error_is_truncated_to_the_buffer(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    w16(18, 40);
    uint8_t *copy = malloc(size);
    assert_non_null(copy);
    memcpy(copy, img, size);
    char small[8];
    memset(small, 'x', sizeof(small));
    assert_int_equal(elf_plan(copy, size, MIN_GPA, MEM, &plan, small, 6), -1);
    assert_string_equal(small, "ELF m");
    assert_int_equal(small[6], 'x');
    free(copy);
}

/* ---- multiboot v1 ------------------------------------------------------------ */

#define MB1_OFF 0x40u
#define MB1_SIZE 0x2000u

static void mb1_header(uint64_t off, uint32_t flags)
{
    w32(off, MB1_HEADER_MAGIC);
    w32(off + 4, flags);
    w32(off + 8, -(MB1_HEADER_MAGIC + flags));
}

static void mb1_aout(uint64_t off, uint32_t header_addr, uint32_t load_addr, uint32_t load_end,
                     uint32_t bss_end, uint32_t entry)
{
    w32(off + 12, header_addr);
    w32(off + 16, load_addr);
    w32(off + 20, load_end);
    w32(off + 24, bss_end);
    w32(off + 28, entry);
}

/* An a.out-kludge kernel: the whole 8 KiB file at 1M, 8 KiB of bss. */
static uint64_t build_mb1(void)
{
    memset(img, 0x90, sizeof(img));
    mb1_header(MB1_OFF, MB1_FLAG_AOUT_KLUDGE | MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO);
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x100000 + MB1_SIZE, 0x104000, 0x100100);
    return MB1_SIZE;
}

static int mb1(uint64_t size) { return run(mb1_plan, size); }

static void mb1_aout_kernel_is_planned(void **state)
{
    (void)state;
    assert_int_equal(mb1(build_mb1()), 0);
    assert_int_equal(plan.nr, 1);
    expect_seg(0, 0, MB1_SIZE, 0x4000, 0x100000);
    assert_int_equal(plan.entry, 0x100100);
    assert_int_equal(plan.end, 0x104000);
}

static void mb1_aout_zero_load_end_loads_rest_of_file(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    /* The image starts at the header: file offset MB1_OFF is load_addr. */
    mb1_aout(MB1_OFF, 0x200000, 0x200000, 0, 0, 0x200000);
    assert_int_equal(mb1(size), 0);
    expect_seg(0, MB1_OFF, MB1_SIZE - MB1_OFF, MB1_SIZE - MB1_OFF, 0x200000);
}

static void mb1_aout_zero_bss_end_means_no_bss(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x101000, 0, 0x100100);
    assert_int_equal(mb1(size), 0);
    expect_seg(0, 0, 0x1000, 0x1000, 0x100000);
}

static void mb1_aout_bss_end_equal_to_load_end_is_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x101000, 0x101000, 0x100100);
    assert_int_equal(mb1(size), 0);
    expect_seg(0, 0, 0x1000, 0x1000, 0x100000);
}

static void mb1_aout_load_addr_above_header_addr_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000, 0x100004, 0x102000, 0, 0x100100);
    expect_fail(mb1_plan, size, "inconsistent");
}

static void mb1_aout_header_before_file_start_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    /* header_addr - load_addr claims the header is 0x44 bytes in: it is 0x40. */
    mb1_aout(MB1_OFF, 0x100044, 0x100000, 0x102000, 0, 0x100100);
    expect_fail(mb1_plan, size, "inconsistent");
}

static void mb1_aout_load_end_below_load_addr_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0xff000, 0, 0x100100);
    expect_fail(mb1_plan, size, "load_end_addr below load_addr");
}

static void mb1_aout_bss_end_below_load_end_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x102000, 0x101fff, 0x100100);
    expect_fail(mb1_plan, size, "bss_end_addr below load_end_addr");
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0, 0x101000, 0x100100);  /* file is 8K */
    expect_fail(mb1_plan, size, "bss_end_addr below load_end_addr");
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x102000, 0xff000, 0x100100);
    expect_fail(mb1_plan, size, "bss_end_addr below load_end_addr");
}

static void mb1_aout_load_end_beyond_file_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x100000 + MB1_SIZE + 1, 0, 0x100100);
    expect_fail(mb1_plan, size, "beyond the image");
}

static void mb1_aout_entry_outside_image_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x102000, 0x104000, 0x104000);
    expect_fail(mb1_plan, size, "multiboot entry 0x104000 outside the loaded image");
    mb1_aout(MB1_OFF, 0x100000 + MB1_OFF, 0x100000, 0x102000, 0x104000, 0xfffff);
    expect_fail(mb1_plan, size, "outside the loaded image");
}

static void mb1_aout_below_min_gpa_or_beyond_ram_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_aout(MB1_OFF, 0x80000 + MB1_OFF, 0x80000, 0x82000, 0, 0x80100);
    expect_fail(mb1_plan, size, "outside guest RAM");
    mb1_aout(MB1_OFF, MEM - 0x1000 + MB1_OFF, MEM - 0x1000, 0, 0, MEM - 0x1000);
    expect_fail(mb1_plan, size, "outside guest RAM");
}

static void mb1_aout_header_truncated_is_rejected(void **state)
{
    (void)state;
    build_mb1();
    expect_fail(mb1_plan, MB1_OFF + 20, "a.out header truncated");
    expect_fail(mb1_plan, MB1_OFF + 31, "a.out header truncated");
}

static void mb1_bad_checksum_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    w32(MB1_OFF + 8, 0);
    expect_fail(mb1_plan, size, "checksum is wrong");
}

static void mb1_unknown_required_flags_are_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_header(MB1_OFF, MB1_FLAG_AOUT_KLUDGE | BIT(3));
    expect_fail(mb1_plan, size, "requires unsupported features 0x8");
    mb1_header(MB1_OFF, MB1_FLAG_AOUT_KLUDGE | BIT(15) | MB1_FLAG_PAGE_ALIGN);
    expect_fail(mb1_plan, size, "requires unsupported features 0x8000");
}

static void mb1_known_and_optional_flags_are_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_header(MB1_OFF, MB1_FLAG_AOUT_KLUDGE | MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO |
                        MB1_FLAG_VIDEO | BIT(17) | BIT(31));
    assert_int_equal(mb1(size), 0);
}

static void mb1_header_must_be_4_byte_aligned(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    memset(img + MB1_OFF, 0, 32);
    mb1_header(MB1_OFF + 2, MB1_FLAG_AOUT_KLUDGE);
    mb1_aout(MB1_OFF + 2, 0x100000 + MB1_OFF + 2, 0x100000, 0x102000, 0, 0x100100);
    expect_fail(mb1_plan, size, "no multiboot header in the first 8 KiB");
}

static void mb1_header_search_window_is_8k(void **state)
{
    (void)state;
    /* ELF kernels (no a.out kludge): the 12-byte header ends at 8 KiB. */
    uint64_t size = build_elf(false);
    mb1_header(8192 - 12, 0);
    assert_int_equal(mb1(size), 0);
    assert_int_equal(plan.entry, 0x100010);
    build_elf(false);
    mb1_header(8192 - 8, 0);            /* straddles the end of the window */
    expect_fail(mb1_plan, size, "no multiboot header");
    build_elf(false);
    mb1_header(8192, 0);
    expect_fail(mb1_plan, size, "no multiboot header");
}

static void mb1_elf_kernel_is_planned_from_its_program_headers(void **state)
{
    (void)state;
    uint64_t size = build_elf(false);
    mb1_header(0x1000, MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO);
    assert_int_equal(mb1(size), 0);
    assert_int_equal(plan.nr, 2);
    assert_int_equal(plan.entry, 0x100010);
}

static void mb1_non_elf_kernel_without_aout_kludge_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb1();
    mb1_header(MB1_OFF, MB1_FLAG_PAGE_ALIGN);
    expect_fail(mb1_plan, size, "not an ELF image");
}

static void mb1_image_without_header_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    expect_fail(mb1_plan, size, "no multiboot header");
    expect_fail(mb1_plan, 0, "no multiboot header");
    memset(img, 0, 16);
    mb1_header(0, 0);
    expect_fail(mb1_plan, 11, "no multiboot header");  /* magic present, header cut */
}

/* ---- multiboot2 ---------------------------------------------------------------- */

#define MB2_OFF  0x80u
#define MB2_SIZE 0x2000u

static uint64_t mb2_hdr, mb2_pos;

static void mb2_begin(uint64_t off)
{
    mb2_hdr = off;
    mb2_pos = off + 16;
}

/* Appends a tag of `size` bytes (header + `n` payload words). */
static void mb2_tag(uint16_t type, uint16_t flags, uint32_t size, const uint32_t *words, unsigned n)
{
    w16(mb2_pos, type);
    w16(mb2_pos + 2, flags);
    w32(mb2_pos + 4, size);
    for (unsigned i = 0; i < n; i++)
        w32(mb2_pos + 8 + 4 * i, words[i]);
    mb2_pos += ALIGN_UP((uint64_t)size, 8);
}

static void mb2_finish_arch(uint32_t arch)
{
    mb2_tag(0, 0, 8, NULL, 0);
    uint32_t len = (uint32_t)(mb2_pos - mb2_hdr);
    w32(mb2_hdr, MB2_HEADER_MAGIC);
    w32(mb2_hdr + 4, arch);
    w32(mb2_hdr + 8, len);
    w32(mb2_hdr + 12, -(MB2_HEADER_MAGIC + arch + len));
}

static void mb2_finish(void) { mb2_finish_arch(0); }

static void mb2_address_tag(uint32_t header_addr, uint32_t load_addr, uint32_t load_end,
                            uint32_t bss_end)
{
    const uint32_t w[] = { header_addr, load_addr, load_end, bss_end };
    mb2_tag(2, 0, 24, w, 4);
}

static void mb2_entry_tag(uint32_t entry)
{
    mb2_tag(3, 0, 12, &entry, 1);
}

/* An address-tag kernel: the 8 KiB file at 1M plus 4 KiB bss. */
static uint64_t build_mb2_addr(void)
{
    memset(img, 0x90, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0x100000 + MB2_SIZE, 0x103000);
    mb2_entry_tag(0x100200);
    return MB2_SIZE;
}

/* An ELF kernel with a bare multiboot2 header (no tags) at 0x1000. */
static uint64_t build_mb2_elf(void)
{
    uint64_t size = build_elf(true);
    mb2_begin(0x1000);
    return size;
}

static int mb2(uint64_t size) { return run(mb2_plan, size); }

static void mb2_elf_kernel_with_bare_header_is_planned(void **state)
{
    (void)state;
    uint64_t size = build_mb2_elf();
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    assert_int_equal(plan.nr, 2);
    assert_int_equal(plan.entry, 0x100010);
}

static void mb2_address_and_entry_tags_are_planned(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    assert_int_equal(plan.nr, 1);
    expect_seg(0, 0, MB2_SIZE, 0x3000, 0x100000);
    assert_int_equal(plan.entry, 0x100200);
}

static void mb2_entry_tag_overrides_elf_entry(void **state)
{
    (void)state;
    uint64_t size = build_mb2_elf();
    mb2_entry_tag(0x202000);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    assert_int_equal(plan.entry, 0x202000);
}

static void mb2_entry_tag_outside_image_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_elf();
    mb2_entry_tag(0x203000);
    mb2_finish();
    expect_fail(mb2_plan, size, "multiboot2 entry 0x203000 outside the loaded image");
    build_mb2_addr();
    mb2_entry_tag(0x103000);            /* the second entry tag wins */
    mb2_finish();
    expect_fail(mb2_plan, size, "outside the loaded image");
}

static void mb2_address_tag_without_entry_tag_is_rejected(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0, 0);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "address tag without an entry tag");
}

static void mb2_address_tag_zero_load_end_loads_rest_of_file(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0, 0);
    mb2_entry_tag(0x100000);
    mb2_finish();
    assert_int_equal(mb2(MB2_SIZE), 0);
    expect_seg(0, 0, MB2_SIZE, MB2_SIZE, 0x100000);
}

static void mb2_address_tag_inconsistent_addresses_are_rejected(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000, 0x100010, 0x102000, 0);      /* load above header */
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "inconsistent");

    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF + 8, 0x100000, 0x102000, 0);  /* header before file */
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "inconsistent");
}

static void mb2_address_tag_bad_end_orderings_are_rejected(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0xfff00, 0);
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "load_end_addr below load_addr");

    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0x101000, 0x100800);
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "bss_end_addr below load_end_addr");

    mb2_begin(MB2_OFF);
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0x100000 + MB2_SIZE + 0x1000, 0);
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "beyond the image");
}

static void mb2_header_must_be_8_byte_aligned(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF + 4);
    mb2_address_tag(0x100000 + MB2_OFF + 4, 0x100000, 0, 0);
    mb2_entry_tag(0x100010);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "no multiboot2 header in the first 32 KiB");
}

static void mb2_header_search_window_is_32k(void **state)
{
    (void)state;
    uint64_t size = 40 * 1024;
    build_elf(true);
    seg(1, PT_LOAD, 0x2000, 0x200000, 0x200000, size - 0x2000, size);
    mb2_begin(32768 - 24);              /* bare header + end tag end at 32 KiB */
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    memset(img + 32768 - 24, 0, 24);
    mb2_begin(32768 - 8);               /* 16-byte fixed part straddles the end */
    mb2_finish();
    expect_fail(mb2_plan, size, "no multiboot2 header");
    memset(img + 32768 - 8, 0, 32);
    mb2_begin(32768);
    mb2_finish();
    expect_fail(mb2_plan, size, "no multiboot2 header");
}

static void mb2_bad_checksum_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_finish();
    w32(MB2_OFF + 12, 0x12345678);
    expect_fail(mb2_plan, size, "checksum is wrong");
}

static void mb2_non_i386_architecture_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_finish_arch(4);                 /* MIPS, with a correct checksum */
    expect_fail(mb2_plan, size, "architecture 4 is not i386");
}

static void mb2_bad_header_length_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_finish();
    uint32_t len = 16;
    w32(MB2_OFF + 8, len);
    w32(MB2_OFF + 12, -(MB2_HEADER_MAGIC + len));
    expect_fail(mb2_plan, size, "header length 16 is bad");
    len = (uint32_t)(size - MB2_OFF + 8);  /* beyond the image */
    w32(MB2_OFF + 8, len);
    w32(MB2_OFF + 12, -(MB2_HEADER_MAGIC + len));
    expect_fail(mb2_plan, size, "is bad");
}

static void mb2_tag_size_below_8_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_tag(4, 0, 4, NULL, 0);          /* padded to 8 by the builder */
    mb2_finish();
    expect_fail(mb2_plan, size, "tag 4 has bad size 4");
}

static void mb2_tag_size_beyond_header_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    uint64_t at = mb2_pos;
    mb2_tag(6, 0, 12, (const uint32_t[]){ 4096 }, 1);
    mb2_finish();
    w32(at + 4, 0x1000);                /* runs past the end tag */
    expect_fail(mb2_plan, size, "tag 6 has bad size 4096");
    w32(at + 4, 0xfffffff8);
    expect_fail(mb2_plan, size, "has bad size");
}

static void mb2_tags_are_8_byte_aligned(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_entry_tag(0x100040);            /* 12 bytes, padded to 16 */
    mb2_address_tag(0x100000 + MB2_OFF, 0x100000, 0, 0);
    mb2_finish();
    assert_int_equal(mb2(MB2_SIZE), 0);
    assert_int_equal(plan.entry, 0x100040);
    expect_seg(0, 0, MB2_SIZE, MB2_SIZE, 0x100000);
}

static void mb2_info_request_for_provided_tags_is_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    const uint32_t want[] = { 1, 2, 3, 4, 6 };
    mb2_tag(1, 0, 8 + sizeof(want), want, 5);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
}

static void mb2_info_request_for_missing_tag_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    const uint32_t want[] = { 1, 6, 8 };    /* 8: framebuffer info */
    mb2_tag(1, 0, 8 + sizeof(want), want, 3);
    mb2_finish();
    expect_fail(mb2_plan, size, "requires information tag 8");
    build_mb2_addr();
    const uint32_t want2[] = { 5 };         /* BIOS boot device */
    mb2_tag(1, 0, 12, want2, 1);
    mb2_finish();
    expect_fail(mb2_plan, size, "requires information tag 5");
}

static void mb2_optional_info_request_is_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    const uint32_t want[] = { 8, 14, 21 };
    mb2_tag(1, 1, 8 + sizeof(want), want, 3);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
}

static void mb2_truncated_address_and_entry_tags_are_rejected(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_tag(2, 0, 16, (const uint32_t[]){ 0x100080, 0x100000 }, 2);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "address tag truncated");
    mb2_begin(MB2_OFF);
    mb2_tag(3, 0, 8, NULL, 0);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "entry tag truncated");
}

static void mb2_required_efi_tags_are_rejected(void **state)
{
    (void)state;
    for (uint16_t type = 7; type <= 9; type++) {
        uint64_t size = build_mb2_addr();
        mb2_tag(type, 0, type == 7 ? 8 : 12, (const uint32_t[]){ 0x100000 }, type == 7 ? 0 : 1);
        mb2_finish();
        char needle[32];
        snprintf(needle, sizeof(needle), "requires EFI (tag %u)", type);
        expect_fail(mb2_plan, size, needle);
    }
}

static void mb2_optional_efi_tags_are_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_tag(7, 1, 8, NULL, 0);
    mb2_tag(8, 1, 12, (const uint32_t[]){ 0x100000 }, 1);
    mb2_tag(9, 1, 12, (const uint32_t[]){ 0x100000 }, 1);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    assert_int_equal(plan.entry, 0x100200);
}

static void mb2_relocatable_and_console_tags_are_accepted(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    /* relocatable: min 1M, max 16M, align 4K, preference none */
    mb2_tag(10, 0, 24, (const uint32_t[]){ 0x100000, 0x1000000, 0x1000, 0 }, 4);
    mb2_tag(4, 0, 12, (const uint32_t[]){ 3 }, 1);              /* console flags */
    mb2_tag(5, 1, 20, (const uint32_t[]){ 1024, 768, 32 }, 3);  /* framebuffer */
    mb2_tag(6, 0, 8, NULL, 0);                                  /* module align */
    mb2_finish();
    assert_int_equal(mb2(size), 0);
    expect_seg(0, 0, MB2_SIZE, 0x3000, 0x100000);
}

static void mb2_unknown_tag_is_rejected_unless_optional(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_tag(42, 0, 8, NULL, 0);
    mb2_finish();
    expect_fail(mb2_plan, size, "tag 42 not supported");
    build_mb2_addr();
    mb2_tag(42, 1, 8, NULL, 0);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
}

static void mb2_tags_after_end_tag_are_ignored(void **state)
{
    (void)state;
    uint64_t size = build_mb2_addr();
    mb2_tag(0, 0, 8, NULL, 0);          /* early end tag */
    mb2_tag(42, 0, 8, NULL, 0);         /* would be rejected */
    mb2_tag(7, 0, 8, NULL, 0);
    mb2_finish();
    assert_int_equal(mb2(size), 0);
}

static void mb2_image_without_header_is_rejected(void **state)
{
    (void)state;
    uint64_t size = build_elf(true);
    expect_fail(mb2_plan, size, "no multiboot2 header");
    expect_fail(mb2_plan, 0, "no multiboot2 header");
    build_mb2_addr();
    mb2_finish();
    expect_fail(mb2_plan, MB2_OFF + 15, "no multiboot2 header");
}

static void mb2_without_address_tag_needs_elf(void **state)
{
    (void)state;
    memset(img, 0, sizeof(img));
    mb2_begin(MB2_OFF);
    mb2_entry_tag(0x100000);
    mb2_finish();
    expect_fail(mb2_plan, MB2_SIZE, "not an ELF image");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elf64_valid_image_plans_each_load_segment),
        cmocka_unit_test(elf32_valid_image_plans_each_load_segment),
        cmocka_unit_test(elf_skips_non_load_and_empty_segments),
        cmocka_unit_test(elf_entry_in_bss_is_accepted),
        cmocka_unit_test(elf_segment_ending_at_ram_end_is_accepted),
        cmocka_unit_test(elf_adjacent_segments_are_accepted),
        cmocka_unit_test(elf_sixteen_segments_are_accepted),
        cmocka_unit_test(elf64_higher_half_entry_is_translated_to_physical),
        cmocka_unit_test(elf32_higher_half_entry_is_translated_to_physical),
        cmocka_unit_test(elf_truncated_header_is_rejected),
        cmocka_unit_test(elf_wrong_magic_is_rejected),
        cmocka_unit_test(elf_wrong_class_or_encoding_is_rejected),
        cmocka_unit_test(elf_wrong_machine_is_rejected),
        cmocka_unit_test(elf_wrong_type_is_rejected),
        cmocka_unit_test(elf_wrong_phentsize_is_rejected),
        cmocka_unit_test(elf_without_program_headers_is_rejected),
        cmocka_unit_test(elf_program_headers_beyond_file_are_rejected),
        cmocka_unit_test(elf_segment_file_bytes_beyond_file_are_rejected),
        cmocka_unit_test(elf_filesz_above_memsz_is_rejected),
        cmocka_unit_test(elf_segment_below_min_gpa_is_rejected),
        cmocka_unit_test(elf_segment_beyond_ram_is_rejected),
        cmocka_unit_test(elf_overlapping_segments_are_rejected),
        cmocka_unit_test(elf_entry_outside_segments_is_rejected),
        cmocka_unit_test(elf_more_than_16_segments_is_rejected),
        cmocka_unit_test(elf_address_overflow_is_rejected),
        cmocka_unit_test(elf_without_load_segments_is_rejected),
        cmocka_unit_test(elf_error_is_truncated_to_the_buffer),
        cmocka_unit_test(mb1_aout_kernel_is_planned),
        cmocka_unit_test(mb1_aout_zero_load_end_loads_rest_of_file),
        cmocka_unit_test(mb1_aout_zero_bss_end_means_no_bss),
        cmocka_unit_test(mb1_aout_bss_end_equal_to_load_end_is_accepted),
        cmocka_unit_test(mb1_aout_load_addr_above_header_addr_is_rejected),
        cmocka_unit_test(mb1_aout_header_before_file_start_is_rejected),
        cmocka_unit_test(mb1_aout_load_end_below_load_addr_is_rejected),
        cmocka_unit_test(mb1_aout_bss_end_below_load_end_is_rejected),
        cmocka_unit_test(mb1_aout_load_end_beyond_file_is_rejected),
        cmocka_unit_test(mb1_aout_entry_outside_image_is_rejected),
        cmocka_unit_test(mb1_aout_below_min_gpa_or_beyond_ram_is_rejected),
        cmocka_unit_test(mb1_aout_header_truncated_is_rejected),
        cmocka_unit_test(mb1_bad_checksum_is_rejected),
        cmocka_unit_test(mb1_unknown_required_flags_are_rejected),
        cmocka_unit_test(mb1_known_and_optional_flags_are_accepted),
        cmocka_unit_test(mb1_header_must_be_4_byte_aligned),
        cmocka_unit_test(mb1_header_search_window_is_8k),
        cmocka_unit_test(mb1_elf_kernel_is_planned_from_its_program_headers),
        cmocka_unit_test(mb1_non_elf_kernel_without_aout_kludge_is_rejected),
        cmocka_unit_test(mb1_image_without_header_is_rejected),
        cmocka_unit_test(mb2_elf_kernel_with_bare_header_is_planned),
        cmocka_unit_test(mb2_address_and_entry_tags_are_planned),
        cmocka_unit_test(mb2_entry_tag_overrides_elf_entry),
        cmocka_unit_test(mb2_entry_tag_outside_image_is_rejected),
        cmocka_unit_test(mb2_address_tag_without_entry_tag_is_rejected),
        cmocka_unit_test(mb2_address_tag_zero_load_end_loads_rest_of_file),
        cmocka_unit_test(mb2_address_tag_inconsistent_addresses_are_rejected),
        cmocka_unit_test(mb2_address_tag_bad_end_orderings_are_rejected),
        cmocka_unit_test(mb2_header_must_be_8_byte_aligned),
        cmocka_unit_test(mb2_header_search_window_is_32k),
        cmocka_unit_test(mb2_bad_checksum_is_rejected),
        cmocka_unit_test(mb2_non_i386_architecture_is_rejected),
        cmocka_unit_test(mb2_bad_header_length_is_rejected),
        cmocka_unit_test(mb2_tag_size_below_8_is_rejected),
        cmocka_unit_test(mb2_tag_size_beyond_header_is_rejected),
        cmocka_unit_test(mb2_tags_are_8_byte_aligned),
        cmocka_unit_test(mb2_info_request_for_provided_tags_is_accepted),
        cmocka_unit_test(mb2_info_request_for_missing_tag_is_rejected),
        cmocka_unit_test(mb2_optional_info_request_is_accepted),
        cmocka_unit_test(mb2_truncated_address_and_entry_tags_are_rejected),
        cmocka_unit_test(mb2_required_efi_tags_are_rejected),
        cmocka_unit_test(mb2_optional_efi_tags_are_accepted),
        cmocka_unit_test(mb2_relocatable_and_console_tags_are_accepted),
        cmocka_unit_test(mb2_unknown_tag_is_rejected_unless_optional),
        cmocka_unit_test(mb2_tags_after_end_tag_are_ignored),
        cmocka_unit_test(mb2_image_without_header_is_rejected),
        cmocka_unit_test(mb2_without_address_tag_needs_elf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* hv/bootinfo.c: Nestor start info, multiboot v1/v2 information, boot GDT
 * and boot page tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bootinfo.h"
#include <nestor/abi.h>

#define AREA_GPA  NESTOR_START_INFO_GPA
#define AREA_SIZE (NESTOR_BOOT_INFO_END - NESTOR_START_INFO_GPA)
#define MEM       (32 * MiB)

static uint8_t *buf;
static struct bootinfo_area area;
static struct bootinfo_params params;

static int setup(void **state)
{
    (void)state;
    buf = malloc(AREA_SIZE);
    assert_non_null(buf);
    memset(buf, 0xee, AREA_SIZE);
    area = (struct bootinfo_area){ buf, AREA_GPA, AREA_SIZE, 0 };
    memset(&params, 0, sizeof(params));
    params.mem_bytes = MEM;
    params.cmdline = "console=hvc0 quiet";
    params.name = "guest1";
    params.domid = 3;
    params.flags = NESTOR_DOMF_PRIVILEGED;
    params.created_tsc = 0x123456789abcull;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(buf);
    return 0;
}

static void add_mod(uint64_t gpa, uint64_t size, const char *cmdline)
{
    unsigned i = params.nr_mods++;
    params.mods[i].gpa = gpa;
    params.mods[i].size = size;
    params.mods[i].cmdline = cmdline;
}

/* Host pointer for a guest address inside the area (bounds-checked). */
static void *at(uint64_t gpa, uint64_t len)
{
    assert_true(gpa >= AREA_GPA);
    assert_true(gpa - AREA_GPA + len <= area.used);
    return buf + (gpa - AREA_GPA);
}

static const char *str_at(uint64_t gpa)
{
    const char *s = at(gpa, 1);
    assert_non_null(memchr(s, 0, area.used - (gpa - AREA_GPA)));
    return s;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

typedef uint64_t (*builder)(struct bootinfo_area *, const struct bootinfo_params *);

/* Every area smaller than what the builder needs makes it return 0, and
 * nothing is written outside the area. */
static void check_too_small_areas_fail(builder fn)
{
    struct bootinfo_area a = { buf, AREA_GPA, AREA_SIZE, 0 };
    assert_int_not_equal(fn(&a, &params), 0);
    uint64_t need = a.used;
    for (uint64_t size = 0; size < need; size++) {
        uint8_t *small = malloc(size ? size : 1);
        assert_non_null(small);
        struct bootinfo_area s = { small, AREA_GPA, size, 0 };
        assert_int_equal(fn(&s, &params), 0);
        assert_true(s.used <= size);
        free(small);
    }
    uint8_t *exact = malloc(need);
    assert_non_null(exact);
    struct bootinfo_area s = { exact, AREA_GPA, need, 0 };
    assert_int_equal(fn(&s, &params), AREA_GPA);
    free(exact);
}

/* ---- start info ---------------------------------------------------------- */

static void start_info_fields(void **state)
{
    (void)state;
    uint64_t gpa = bootinfo_start_info(&area, &params);
    assert_int_equal(gpa, AREA_GPA);
    assert_int_equal(gpa % 8, 0);
    struct nestor_start_info *si = at(gpa, sizeof(*si));
    assert_int_equal(si->magic, NESTOR_START_MAGIC);
    assert_int_equal(si->version, 1);
    assert_int_equal(si->mem_bytes, MEM);
    assert_int_equal(si->domid, 3);
    assert_int_equal(si->nr_vcpus, 1);
    assert_int_equal(si->flags, NESTOR_DOMF_PRIVILEGED);
    assert_int_equal(si->created_tsc, 0x123456789abcull);
    assert_int_equal(si->pad, 0);
    assert_string_equal(si->name, "guest1");
    assert_string_equal(str_at(si->cmdline), "console=hvc0 quiet");
    assert_int_equal(si->nr_modules, 0);
    assert_int_not_equal(si->modules, 0);
    assert_true(area.used <= AREA_SIZE);
}

static void start_info_module_list(void **state)
{
    (void)state;
    add_mod(0x400000, 0x1234, "initrd.img root=/dev/ram0");
    add_mod(0x402000, 0, "");
    add_mod(0x500000, 0x10000, "third");
    uint64_t gpa = bootinfo_start_info(&area, &params);
    assert_int_not_equal(gpa, 0);
    struct nestor_start_info *si = at(gpa, sizeof(*si));
    assert_int_equal(si->nr_modules, 3);
    assert_int_equal(si->modules % 8, 0);
    struct nestor_module *m = at(si->modules, 3 * sizeof(*m));
    assert_int_equal(m[0].start, 0x400000);
    assert_int_equal(m[0].size, 0x1234);
    assert_string_equal(str_at(m[0].cmdline), "initrd.img root=/dev/ram0");
    assert_int_equal(m[1].start, 0x402000);
    assert_int_equal(m[1].size, 0);
    assert_string_equal(str_at(m[1].cmdline), "");
    assert_int_equal(m[2].start, 0x500000);
    assert_string_equal(str_at(m[2].cmdline), "third");
}

static void start_info_long_name_is_truncated(void **state)
{
    (void)state;
    params.name = "a-domain-name-much-longer-than-thirty-one-characters";
    uint64_t gpa = bootinfo_start_info(&area, &params);
    struct nestor_start_info *si = at(gpa, sizeof(*si));
    assert_int_equal(strlen(si->name), 31);
    assert_memory_equal(si->name, params.name, 31);
}

static void start_info_fails_when_area_is_too_small(void **state)
{
    (void)state;
    add_mod(0x400000, 0x1000, "m0");
    add_mod(0x401000, 0x1000, "module-one");
    check_too_small_areas_fail(bootinfo_start_info);
}

static void start_info_fails_when_command_line_does_not_fit(void **state)
{
    (void)state;
    char *big = malloc(AREA_SIZE);
    assert_non_null(big);
    memset(big, 'x', AREA_SIZE - 1);
    big[AREA_SIZE - 1] = '\0';
    params.cmdline = big;
    assert_int_equal(bootinfo_start_info(&area, &params), 0);
    assert_true(area.used <= AREA_SIZE);
    free(big);
}

/* ---- multiboot v1 ------------------------------------------------------------ */

#define MBI_FLAGS_WANT (BIT(0) | BIT(2) | BIT(3) | BIT(6) | BIT(9))

static void mbi1_flags_memory_and_strings(void **state)
{
    (void)state;
    uint64_t gpa = bootinfo_mbi1(&area, &params);
    assert_int_equal(gpa, AREA_GPA);
    const uint8_t *mi = at(gpa, 88);
    assert_int_equal(rd32(mi + 0), MBI_FLAGS_WANT);
    assert_int_equal(rd32(mi + 4), 640);                         /* mem_lower */
    assert_int_equal(rd32(mi + 8), (MEM - 1 * MiB) / 1024);      /* mem_upper */
    assert_string_equal(str_at(rd32(mi + 16)), "console=hvc0 quiet");
    assert_string_equal(str_at(rd32(mi + 64)), "Nestor");       /* boot_loader_name */
    assert_int_equal(rd32(mi + 20), 0);                          /* mods_count */
    /* Fields whose flag is clear are zero. */
    assert_int_equal(rd32(mi + 12), 0);                          /* boot_device */
    for (unsigned off = 28; off < 44; off += 4)
        assert_int_equal(rd32(mi + off), 0);                     /* syms */
    for (unsigned off = 52; off < 64; off += 4)
        assert_int_equal(rd32(mi + off), 0);                     /* drives, config */
    for (unsigned off = 68; off < 88; off += 4)
        assert_int_equal(rd32(mi + off), 0);                     /* apm, vbe */
}

static void mbi1_memory_map_entries(void **state)
{
    (void)state;
    uint64_t gpa = bootinfo_mbi1(&area, &params);
    const uint8_t *mi = at(gpa, 88);
    uint32_t len = rd32(mi + 44), addr = rd32(mi + 48);
    assert_int_equal(len, 3 * 24);
    const uint8_t *mm = at(addr, len);
    static const struct { uint64_t base, len; uint32_t type; } want[] = {
        { 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 }, { 0x100000, MEM - 0x100000, 1 },
    };
    /* Walk it as a guest does: each entry is size+4 bytes long. */
    unsigned n = 0;
    for (uint32_t off = 0; off < len; off += rd32(mm + off) + 4, n++) {
        assert_true(n < 3);
        assert_int_equal(rd32(mm + off), 20);
        assert_int_equal(rd64(mm + off + 4), want[n].base);
        assert_int_equal(rd64(mm + off + 12), want[n].len);
        assert_int_equal(rd32(mm + off + 20), want[n].type);
    }
    assert_int_equal(n, 3);
}

static void mbi1_modules(void **state)
{
    (void)state;
    add_mod(0x800000, 0x2345, "mod-a arg");
    add_mod(0x803000, 0x1000, "mod-b");
    uint64_t gpa = bootinfo_mbi1(&area, &params);
    assert_int_not_equal(gpa, 0);
    const uint8_t *mi = at(gpa, 88);
    assert_int_equal(rd32(mi + 20), 2);
    const uint8_t *mo = at(rd32(mi + 24), 32);
    assert_int_equal(rd32(mo + 0), 0x800000);                    /* mod_start */
    assert_int_equal(rd32(mo + 4), 0x802345);                    /* mod_end */
    assert_string_equal(str_at(rd32(mo + 8)), "mod-a arg");
    assert_int_equal(rd32(mo + 12), 0);
    assert_int_equal(rd32(mo + 16), 0x803000);
    assert_int_equal(rd32(mo + 20), 0x804000);
    assert_string_equal(str_at(rd32(mo + 24)), "mod-b");
    assert_int_equal(rd32(mo + 28), 0);
}

static void mbi1_fails_when_area_is_too_small(void **state)
{
    (void)state;
    add_mod(0x800000, 0x1000, "a");
    add_mod(0x801000, 0x1000, "bb");
    check_too_small_areas_fail(bootinfo_mbi1);
}

/* ---- multiboot2 ------------------------------------------------------------------ */

struct tag { uint32_t type, size; const uint8_t *p; };

/* Walks the MBI2 as a guest does; returns the number of tags before and
 * including the end tag. */
static unsigned mbi2_tags(uint64_t gpa, struct tag *out, unsigned max)
{
    assert_int_equal(gpa % 8, 0);
    const uint8_t *base = at(gpa, 8);
    uint32_t total = rd32(base);
    assert_int_equal(rd32(base + 4), 0);
    assert_int_equal(total % 8, 0);
    at(gpa, total);
    unsigned n = 0;
    for (uint32_t off = 8; ; ) {
        assert_true(off + 8 <= total);
        assert_int_equal(off % 8, 0);
        const uint8_t *t = base + off;
        assert_true(n < max);
        out[n] = (struct tag){ rd32(t), rd32(t + 4), t };
        assert_true(out[n].size >= 8 && off + out[n].size <= total);
        n++;
        if (rd32(t) == 0) {
            assert_int_equal(rd32(t + 4), 8);
            assert_int_equal(off + 8, total);       /* the end tag is last */
            break;
        }
        off += ALIGN_UP(out[n - 1].size, 8u);
    }
    return n;
}

static void mbi2_tag_walk_covers_total_size(void **state)
{
    (void)state;
    uint64_t gpa = bootinfo_mbi2(&area, &params);
    assert_int_equal(gpa, AREA_GPA);
    struct tag t[16];
    unsigned n = mbi2_tags(gpa, t, 16);
    assert_int_equal(n, 5);
    static const uint32_t types[] = { 1, 2, 4, 6, 0 };
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(t[i].type, types[i]);
    assert_int_equal(rd32(at(gpa, 4)), area.gpa + area.used - gpa);
}

static void mbi2_string_tags(void **state)
{
    (void)state;
    struct tag t[16];
    mbi2_tags(bootinfo_mbi2(&area, &params), t, 16);
    assert_int_equal(t[0].size, 8 + strlen(params.cmdline) + 1);
    assert_string_equal((const char *)t[0].p + 8, params.cmdline);
    assert_int_equal(t[1].size, 8 + 7);
    assert_string_equal((const char *)t[1].p + 8, "Nestor");
}

static void mbi2_basic_meminfo_and_mmap(void **state)
{
    (void)state;
    struct tag t[16];
    mbi2_tags(bootinfo_mbi2(&area, &params), t, 16);
    assert_int_equal(t[2].size, 16);
    assert_int_equal(rd32(t[2].p + 8), 640);
    assert_int_equal(rd32(t[2].p + 12), (MEM - 1 * MiB) / 1024);
    const uint8_t *mm = t[3].p;
    assert_int_equal(t[3].size, 16 + 3 * 24);
    assert_int_equal(rd32(mm + 8), 24);         /* entry_size */
    assert_int_equal(rd32(mm + 12), 0);         /* entry_version */
    static const struct { uint64_t base, len; uint32_t type; } want[] = {
        { 0, 0xa0000, 1 }, { 0xa0000, 0x60000, 2 }, { 0x100000, MEM - 0x100000, 1 },
    };
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *e = mm + 16 + i * rd32(mm + 8);
        assert_int_equal(rd64(e), want[i].base);
        assert_int_equal(rd64(e + 8), want[i].len);
        assert_int_equal(rd32(e + 16), want[i].type);
        assert_int_equal(rd32(e + 20), 0);
    }
}

static void mbi2_module_tags(void **state)
{
    (void)state;
    add_mod(0x800000, 0x2345, "first module");
    add_mod(0x803000, 0x10, "");
    struct tag t[16];
    unsigned n = mbi2_tags(bootinfo_mbi2(&area, &params), t, 16);
    assert_int_equal(n, 7);
    static const uint32_t types[] = { 1, 2, 3, 3, 4, 6, 0 };
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(t[i].type, types[i]);
    assert_int_equal(t[2].size, 16 + strlen("first module") + 1);
    assert_int_equal(rd32(t[2].p + 8), 0x800000);
    assert_int_equal(rd32(t[2].p + 12), 0x802345);
    assert_string_equal((const char *)t[2].p + 16, "first module");
    assert_int_equal(t[3].size, 17);
    assert_int_equal(rd32(t[3].p + 8), 0x803000);
    assert_int_equal(rd32(t[3].p + 12), 0x803010);
    assert_string_equal((const char *)t[3].p + 16, "");
}

static void mbi2_fails_when_area_is_too_small(void **state)
{
    (void)state;
    add_mod(0x800000, 0x1000, "abc");
    check_too_small_areas_fail(bootinfo_mbi2);
}

static void mbi2_after_other_data_is_8_byte_aligned(void **state)
{
    (void)state;
    area.used = 3;                      /* something odd-sized before it */
    uint64_t gpa = bootinfo_mbi2(&area, &params);
    assert_int_equal(gpa, AREA_GPA + 8);
    struct tag t[16];
    assert_int_equal(mbi2_tags(gpa, t, 16), 5);
}

/* ---- GDT ------------------------------------------------------------------------ */

struct desc { uint32_t base, limit; unsigned type, s, dpl, p, l, db, g; };

static struct desc decode(const uint8_t *gdt, unsigned sel)
{
    uint64_t d = rd64(gdt + sel);
    return (struct desc){
        .base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 56) << 24)),
        .limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
        .type = (d >> 40) & 0xf, .s = (d >> 44) & 1, .dpl = (d >> 45) & 3,
        .p = (d >> 47) & 1, .l = (d >> 53) & 1, .db = (d >> 54) & 1, .g = (d >> 55) & 1,
    };
}

static void gdt_descriptors(void **state)
{
    (void)state;
    uint8_t gdt[BOOT_GDT_SIZE + 8];
    memset(gdt, 0xee, sizeof(gdt));
    bootinfo_gdt(gdt);
    assert_int_equal(BOOT_GDT_SIZE_LIMIT, 31);
    assert_int_equal(rd64(gdt), 0);                              /* null */
    assert_int_equal(rd64(gdt + BOOT_GDT_SIZE), 0xeeeeeeeeeeeeeeeeull);  /* 32 bytes only */

    struct desc c64 = decode(gdt, 0x08);
    assert_int_equal(c64.base, 0);
    assert_int_equal(c64.limit, 0xfffff);
    assert_int_equal(c64.type, 0xb);                             /* code, read, accessed */
    assert_true(c64.s && c64.p && c64.g && c64.l);
    assert_int_equal(c64.db, 0);                                 /* L=1 needs D=0 */
    assert_int_equal(c64.dpl, 0);

    struct desc data = decode(gdt, 0x10);
    assert_int_equal(data.base, 0);
    assert_int_equal(data.limit, 0xfffff);
    assert_int_equal(data.type, 0x3);                            /* data, write, accessed */
    assert_true(data.s && data.p && data.g && data.db);
    assert_int_equal(data.l, 0);
    assert_int_equal(data.dpl, 0);

    struct desc c32 = decode(gdt, 0x18);
    assert_int_equal(c32.base, 0);
    assert_int_equal(c32.limit, 0xfffff);
    assert_int_equal(c32.type, 0xb);
    assert_true(c32.s && c32.p && c32.g && c32.db);
    assert_int_equal(c32.l, 0);
    assert_int_equal(c32.dpl, 0);
}

/* ---- page tables -------------------------------------------------------------- */

#define PML4_GPA NESTOR_BOOT_PML4_GPA

static uint64_t *tables;

static uint64_t *table_at(uint64_t gpa)
{
    assert_true(gpa >= PML4_GPA && gpa < PML4_GPA + 6 * PAGE_SIZE);
    assert_int_equal(gpa & 0xfff, 0);
    return tables + (gpa - PML4_GPA) / 8;
}

/* Walks the tables as the CPU would for a linear address below 4 GiB. */
static uint64_t walk(uint64_t la)
{
    uint64_t e = table_at(PML4_GPA)[(la >> 39) & 511];
    assert_int_equal(e & 0xfff, 0x7);
    e = table_at(e & ~0xffful)[(la >> 30) & 511];
    assert_int_equal(e & 0xfff, 0x7);
    e = table_at(e & ~0xffful)[(la >> 21) & 511];
    assert_int_equal(e & 0xfff, 0x87);                           /* P, RW, US, PS */
    assert_int_equal(e & 0x1ff000, 0);                           /* PAT, reserved */
    return (e & 0x000fffffffe00000ul) | (la & 0x1fffff);
}

static void page_tables_identity_map_4g_with_2m_user_pages(void **state)
{
    (void)state;
    tables = malloc(6 * PAGE_SIZE);
    assert_non_null(tables);
    memset(tables, 0xee, 6 * PAGE_SIZE);
    bootinfo_page_tables((uint8_t *)tables, PML4_GPA);
    for (uint64_t la = 0; la < 4 * GiB; la += 2 * MiB) {
        assert_int_equal(walk(la), la);
        assert_int_equal(walk(la + 0x1ffff8), la + 0x1ffff8);
    }
    assert_int_equal(walk(0xdeadbeef), 0xdeadbeef);
    free(tables);
}

static void page_tables_map_nothing_above_4g(void **state)
{
    (void)state;
    tables = malloc(6 * PAGE_SIZE);
    assert_non_null(tables);
    memset(tables, 0xee, 6 * PAGE_SIZE);
    bootinfo_page_tables((uint8_t *)tables, PML4_GPA);
    uint64_t *pml4 = table_at(PML4_GPA), *pdpt = table_at(PML4_GPA + PAGE_SIZE);
    assert_int_equal(pml4[0], PML4_GPA + PAGE_SIZE + 7);
    for (unsigned i = 1; i < 512; i++)
        assert_int_equal(pml4[i], 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(pdpt[i], PML4_GPA + (2 + i) * PAGE_SIZE + 7);
    for (unsigned i = 4; i < 512; i++)
        assert_int_equal(pdpt[i], 0);
    free(tables);
}

static void page_tables_follow_their_own_address(void **state)
{
    (void)state;
    tables = malloc(6 * PAGE_SIZE);
    assert_non_null(tables);
    bootinfo_page_tables((uint8_t *)tables, 0x200000);
    assert_int_equal(tables[0], 0x201007);
    assert_int_equal(tables[512 + 3], 0x205007);
    assert_int_equal(tables[1024 + 2047], (2047ul << 21) | 0x87);
    free(tables);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(start_info_fields),
        T(start_info_module_list),
        T(start_info_long_name_is_truncated),
        T(start_info_fails_when_area_is_too_small),
        T(start_info_fails_when_command_line_does_not_fit),
        T(mbi1_flags_memory_and_strings),
        T(mbi1_memory_map_entries),
        T(mbi1_modules),
        T(mbi1_fails_when_area_is_too_small),
        T(mbi2_tag_walk_covers_total_size),
        T(mbi2_string_tags),
        T(mbi2_basic_meminfo_and_mmap),
        T(mbi2_module_tags),
        T(mbi2_fails_when_area_is_too_small),
        T(mbi2_after_other_data_is_8_byte_aligned),
        T(gdt_descriptors),
        T(page_tables_identity_map_4g_with_2m_user_pages),
        T(page_tables_map_nothing_above_4g),
        T(page_tables_follow_their_own_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

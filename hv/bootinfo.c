/* Start-of-day structures for guests. */
#include "bootinfo.h"
#include <nestor/abi.h>

static uint64_t area_alloc(struct bootinfo_area *a, uint64_t len, uint64_t align)
{
    uint64_t off = ALIGN_UP(a->used, align);
    if (off > a->size || len > a->size - off)
        return 0;
    a->used = off + len;
    memset(a->base + off, 0, len);
    return a->gpa + off;
}

static void *area_ptr(struct bootinfo_area *a, uint64_t gpa)
{
    return a->base + (gpa - a->gpa);
}

static uint64_t area_string(struct bootinfo_area *a, const char *s)
{
    uint64_t len = strlen(s) + 1;
    uint64_t gpa = area_alloc(a, len, 1);
    if (gpa)
        memcpy(area_ptr(a, gpa), s, len);
    return gpa;
}

uint64_t bootinfo_start_info(struct bootinfo_area *a, const struct bootinfo_params *p)
{
    uint64_t si_gpa = area_alloc(a, sizeof(struct nestor_start_info), 8);
    uint64_t mods = area_alloc(a, sizeof(struct nestor_module) * (p->nr_mods ? p->nr_mods : 1), 8);
    uint64_t cmd = area_string(a, p->cmdline);
    if (!si_gpa || !mods || !cmd)
        return 0;
    struct nestor_module *m = area_ptr(a, mods);
    for (unsigned i = 0; i < p->nr_mods; i++) {
        m[i].start = p->mods[i].gpa;
        m[i].size = p->mods[i].size;
        m[i].cmdline = area_string(a, p->mods[i].cmdline);
        if (!m[i].cmdline)
            return 0;
    }
    struct nestor_start_info *si = area_ptr(a, si_gpa);
    si->magic = NESTOR_START_MAGIC;
    si->version = 1;
    si->mem_bytes = p->mem_bytes;
    si->domid = p->domid;
    si->nr_vcpus = 1;
    si->flags = p->flags;
    si->cmdline = cmd;
    si->modules = mods;
    si->nr_modules = p->nr_mods;
    si->created_tsc = p->created_tsc;
    strcpy_bounded(si->name, p->name, sizeof(si->name));
    return si_gpa;
}

/* The guest memory map both multiboot versions describe: conventional
 * memory, the legacy VGA/BIOS hole, then RAM from 1 MiB. */
struct mmap_entry { uint64_t base, len; uint32_t type; };

static unsigned guest_mmap(uint64_t mem, struct mmap_entry e[3])
{
    e[0] = (struct mmap_entry){ 0, 0xa0000, 1 };
    e[1] = (struct mmap_entry){ 0xa0000, 0x60000, 2 };
    e[2] = (struct mmap_entry){ 0x100000, mem - 0x100000, 1 };
    return 3;
}

#define MB1_INFO_MEM     BIT(0)
#define MB1_INFO_CMDLINE BIT(2)
#define MB1_INFO_MODS    BIT(3)
#define MB1_INFO_MMAP    BIT(6)
#define MB1_INFO_LOADER  BIT(9)

uint64_t bootinfo_mbi1(struct bootinfo_area *a, const struct bootinfo_params *p)
{
    uint64_t info = area_alloc(a, 88, 8);     /* struct multiboot_info */
    uint64_t cmd = area_string(a, p->cmdline);
    uint64_t loader = area_string(a, "Nestor");
    uint64_t mods = area_alloc(a, 16 * (p->nr_mods ? p->nr_mods : 1), 8);
    struct mmap_entry e[3];
    unsigned n = guest_mmap(p->mem_bytes, e);
    uint64_t mmap = area_alloc(a, 24 * n, 8);
    if (!info || !cmd || !loader || !mods || !mmap)
        return 0;
    uint32_t *mi = area_ptr(a, info);
    uint32_t *mo = area_ptr(a, mods);
    for (unsigned i = 0; i < p->nr_mods; i++) {
        uint64_t s = area_string(a, p->mods[i].cmdline);
        if (!s)
            return 0;
        mo[i * 4 + 0] = (uint32_t)p->mods[i].gpa;
        mo[i * 4 + 1] = (uint32_t)(p->mods[i].gpa + p->mods[i].size);
        mo[i * 4 + 2] = (uint32_t)s;
        mo[i * 4 + 3] = 0;
    }
    uint8_t *mm = area_ptr(a, mmap);
    for (unsigned i = 0; i < n; i++) {
        uint32_t size = 20;     /* "size" excludes itself */
        memcpy(mm + i * 24, &size, 4);
        memcpy(mm + i * 24 + 4, &e[i].base, 8);
        memcpy(mm + i * 24 + 12, &e[i].len, 8);
        memcpy(mm + i * 24 + 20, &e[i].type, 4);
    }
    mi[0] = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP | MB1_INFO_LOADER;
    mi[1] = 640;                                        /* mem_lower, KiB */
    mi[2] = (uint32_t)((p->mem_bytes - 0x100000) / 1024);  /* mem_upper, KiB */
    mi[4] = (uint32_t)cmd;
    mi[5] = p->nr_mods;
    mi[6] = (uint32_t)mods;
    mi[11] = 24 * n;                                    /* mmap_length */
    mi[12] = (uint32_t)mmap;
    mi[16] = (uint32_t)loader;
    return info;
}

static uint8_t *mb2_tag(struct bootinfo_area *a, uint32_t type, uint32_t size)
{
    uint64_t gpa = area_alloc(a, ALIGN_UP(size, 8u), 8);
    if (!gpa)
        return NULL;
    uint32_t *t = area_ptr(a, gpa);
    t[0] = type;
    t[1] = size;
    return (uint8_t *)t;
}

static bool mb2_string_tag(struct bootinfo_area *a, uint32_t type, const char *s)
{
    uint32_t len = (uint32_t)strlen(s) + 1;
    uint8_t *t = mb2_tag(a, type, 8 + len);
    if (t)
        memcpy(t + 8, s, len);
    return t;
}

uint64_t bootinfo_mbi2(struct bootinfo_area *a, const struct bootinfo_params *p)
{
    uint64_t start = area_alloc(a, 8, 8);
    if (!start || !mb2_string_tag(a, 1, p->cmdline) || !mb2_string_tag(a, 2, "Nestor"))
        return 0;
    for (unsigned i = 0; i < p->nr_mods; i++) {
        uint32_t len = (uint32_t)strlen(p->mods[i].cmdline) + 1;
        uint8_t *t = mb2_tag(a, 3, 16 + len);
        if (!t)
            return 0;
        uint32_t s = (uint32_t)p->mods[i].gpa, e = (uint32_t)(p->mods[i].gpa + p->mods[i].size);
        memcpy(t + 8, &s, 4);
        memcpy(t + 12, &e, 4);
        memcpy(t + 16, p->mods[i].cmdline, len);
    }
    uint8_t *mem = mb2_tag(a, 4, 16);
    if (!mem)
        return 0;
    uint32_t lower = 640, upper = (uint32_t)((p->mem_bytes - 0x100000) / 1024);
    memcpy(mem + 8, &lower, 4);
    memcpy(mem + 12, &upper, 4);

    struct mmap_entry e[3];
    unsigned n = guest_mmap(p->mem_bytes, e);
    uint8_t *mm = mb2_tag(a, 6, 16 + 24 * n);
    if (!mm)
        return 0;
    uint32_t esize = 24, ever = 0;
    memcpy(mm + 8, &esize, 4);
    memcpy(mm + 12, &ever, 4);
    for (unsigned i = 0; i < n; i++) {
        memcpy(mm + 16 + i * 24, &e[i].base, 8);
        memcpy(mm + 16 + i * 24 + 8, &e[i].len, 8);
        memcpy(mm + 16 + i * 24 + 16, &e[i].type, 4);
    }
    if (!mb2_tag(a, 0, 8))
        return 0;
    uint32_t *hdr = area_ptr(a, start);
    hdr[0] = (uint32_t)(a->gpa + a->used - start);     /* total_size */
    hdr[1] = 0;
    return start;
}

void bootinfo_gdt(uint8_t *gdt)
{
    static const uint64_t desc[4] = {
        0,
        0x00af9b000000ffffull,      /* 0x08: 64-bit code, accessed */
        0x00cf93000000ffffull,      /* 0x10: flat data, accessed */
        0x00cf9b000000ffffull,      /* 0x18: flat 32-bit code, accessed */
    };
    memcpy(gdt, desc, sizeof(desc));
}

void bootinfo_page_tables(uint8_t *tables, uint64_t pml4_gpa)
{
    uint64_t *pml4 = (uint64_t *)tables;
    uint64_t *pdpt = pml4 + 512;
    uint64_t *pd = pdpt + 512;
    const uint64_t flags = 0x7;     /* present, writable, user */

    memset(tables, 0, 6 * PAGE_SIZE);
    pml4[0] = (pml4_gpa + PAGE_SIZE) | flags;
    for (unsigned i = 0; i < 4; i++)
        pdpt[i] = (pml4_gpa + (2 + i) * PAGE_SIZE) | flags;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | flags | 0x80 /* PS */;
}

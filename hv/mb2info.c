/* Parses the multiboot2 information structure (Multiboot2 spec, 3.6). */
#include "mb2info.h"

#define TAG_END      0
#define TAG_CMDLINE  1
#define TAG_MODULE   3
#define TAG_MMAP     6

struct tag { uint32_t type, size; };

static void add_module(struct boot_info *bi, const uint8_t *t)
{
    const uint32_t *w = (const uint32_t *)t;
    if (bi->nr_modules == HV_MAX_MODULES) {
        bi->modules_dropped++;
        return;
    }
    struct boot_module *m = &bi->modules[bi->nr_modules++];
    m->start = w[2];
    m->end = w[3];
    m->cmdline = (const char *)(t + 16);
}

static void add_mmap(struct boot_info *bi, const uint8_t *t, uint32_t size)
{
    uint32_t entry_size = ((const uint32_t *)t)[2];
    if (entry_size < 24)
        return;
    for (uint32_t off = 16; off + entry_size <= size; off += entry_size) {
        const uint8_t *e = t + off;
        if (bi->nr_mem == HV_MAX_MEMRANGES)
            return;
        struct mem_range *r = &bi->mem[bi->nr_mem++];
        r->base = *(const uint64_t *)e;
        r->len = *(const uint64_t *)(e + 8);
        r->type = *(const uint32_t *)(e + 16);
    }
}

bool mb2info_parse(uint32_t magic, uint64_t mbi, struct boot_info *bi)
{
    memset(bi, 0, sizeof(*bi));
    bi->cmdline = "";
    if (magic != MB2_BOOTLOADER_MAGIC || !mbi || (mbi & 7))
        return false;
    uint32_t total = *(const uint32_t *)(uintptr_t)mbi;
    bi->mbi_start = mbi;
    bi->mbi_end = mbi + total;
    for (uint64_t p = mbi + 8; p + 8 <= mbi + total;) {
        const struct tag *t = (const struct tag *)(uintptr_t)p;
        if (t->type == TAG_END || t->size < 8)
            break;
        switch (t->type) {
        case TAG_CMDLINE: bi->cmdline = (const char *)(t + 1); break;
        case TAG_MODULE:  add_module(bi, (const uint8_t *)t); break;
        case TAG_MMAP:    add_mmap(bi, (const uint8_t *)t, t->size); break;
        }
        p += ALIGN_UP(t->size, 8u);
    }
    return true;
}

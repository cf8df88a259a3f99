/* ELF and multiboot image planning (ELF spec; Multiboot 0.6.96 and 2.0). */
#include "loader.h"

#define PT_LOAD      1
#define EM_386       3
#define EM_X86_64    62

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* Range checks written so that no addition can overflow. */
static bool fits(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

static int add_seg(struct load_plan *p, uint64_t off, uint64_t filesz, uint64_t memsz,
                   uint64_t gpa, uint64_t size, uint64_t min_gpa, uint64_t mem,
                   char *err, size_t errlen)
{
    if (filesz > memsz)
        FAIL("segment at %#lx: file size %#lx exceeds memory size %#lx", gpa, filesz, memsz);
    if (!fits(off, filesz, size))
        FAIL("segment at %#lx: file bytes [%#lx, +%#lx) beyond the image (%#lx bytes)",
             gpa, off, filesz, size);
    if (gpa < min_gpa || !fits(gpa, memsz, mem))
        FAIL("segment [%#lx, +%#lx) outside guest RAM [%#lx, %#lx)", gpa, memsz, min_gpa, mem);
    if (p->nr == LOAD_MAX_SEGS)
        FAIL("more than %d loadable segments", LOAD_MAX_SEGS);
    for (unsigned i = 0; i < p->nr; i++) {
        const struct load_seg *s = &p->seg[i];
        if (gpa < s->gpa + s->memsz && s->gpa < gpa + memsz)
            FAIL("segments at %#lx and %#lx overlap", s->gpa, gpa);
    }
    p->seg[p->nr++] = (struct load_seg){ off, filesz, memsz, gpa };
    p->end = MAX(p->end, gpa + memsz);
    return 0;
}

static bool entry_in_segments(const struct load_plan *p, uint64_t entry)
{
    for (unsigned i = 0; i < p->nr; i++)
        if (entry >= p->seg[i].gpa && entry < p->seg[i].gpa + p->seg[i].memsz)
            return true;
    return false;
}

int elf_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem,
             struct load_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (size < 52 || memcmp(img, "\x7f" "ELF", 4))
        FAIL("not an ELF image");
    bool is64 = img[4] == 2;
    if ((img[4] != 1 && img[4] != 2) || img[5] != 1)
        FAIL("ELF class %u / data encoding %u not supported (need 32/64-bit little-endian)",
             img[4], img[5]);
    if (is64 && size < 64)
        FAIL("truncated ELF header");
    uint16_t machine = rd16(img + 18);
    if (machine != (is64 ? EM_X86_64 : EM_386))
        FAIL("ELF machine %u is not x86", machine);
    if (rd16(img + 16) != 2)
        FAIL("ELF type %u is not an executable", rd16(img + 16));
    uint64_t entry = is64 ? rd64(img + 24) : rd32(img + 24);
    uint64_t phoff = is64 ? rd64(img + 32) : rd32(img + 28);
    uint16_t phentsize = rd16(img + (is64 ? 54 : 42));
    uint16_t phnum = rd16(img + (is64 ? 56 : 44));
    if (phentsize != (is64 ? 56 : 32) || phnum == 0)
        FAIL("bad program header table (entry size %u, %u entries)", phentsize, phnum);
    if (!fits(phoff, (uint64_t)phentsize * phnum, size))
        FAIL("program headers beyond the image");

    uint64_t entry_phys = entry;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        if (rd32(ph) != PT_LOAD)
            continue;
        uint64_t off = is64 ? rd64(ph + 8) : rd32(ph + 4);
        uint64_t vaddr = is64 ? rd64(ph + 16) : rd32(ph + 8);
        uint64_t paddr = is64 ? rd64(ph + 24) : rd32(ph + 12);
        uint64_t filesz = is64 ? rd64(ph + 32) : rd32(ph + 16);
        uint64_t memsz = is64 ? rd64(ph + 40) : rd32(ph + 20);
        if (memsz == 0)
            continue;
        if (add_seg(p, off, filesz, memsz, paddr, size, min_gpa, mem, err, errlen))
            return -1;
        /* Higher-half kernels link at a virtual address: enter at the
         * physical alias, as GRUB does. */
        if (entry >= vaddr && entry - vaddr < memsz)
            entry_phys = entry - vaddr + paddr;
    }
    if (p->nr == 0)
        FAIL("no loadable segments");
    if (!entry_in_segments(p, entry_phys))
        FAIL("entry point %#lx is not inside a loaded segment", entry);
    p->entry = entry_phys;
    return 0;
}

/* The load addresses both multiboot versions may give instead of ELF
 * headers (v1 "a.out kludge", v2 address tag); `off` is the header's file
 * offset, which header_addr names in memory. */
struct mb_addrs { uint32_t header, load, load_end, bss_end; };

static int plan_addrs(const char *who, const struct mb_addrs *a, uint64_t off, uint64_t size,
                      uint64_t min_gpa, uint64_t mem, struct load_plan *p, char *err, size_t errlen)
{
    if (a->load > a->header || a->header - a->load > off)
        FAIL("%s load_addr %#x / header_addr %#x inconsistent", who, a->load, a->header);
    if (a->load_end && a->load_end < a->load)
        FAIL("%s load_end_addr below load_addr", who);
    uint64_t file_off = off - (a->header - a->load);
    uint64_t filesz = a->load_end ? (uint64_t)a->load_end - a->load : size - file_off;
    if (a->bss_end && a->bss_end < a->load + filesz)
        FAIL("%s bss_end_addr below load_end_addr", who);
    uint64_t memsz = a->bss_end ? (uint64_t)a->bss_end - a->load : filesz;
    return add_seg(p, file_off, filesz, memsz, a->load, size, min_gpa, mem, err, errlen);
}

/* Finds a header magic at `align` steps in the first `window` bytes. */
static int64_t find_magic(const uint8_t *img, uint64_t size, uint32_t magic,
                          uint64_t window, unsigned align, unsigned hdr_len)
{
    for (uint64_t off = 0; off + hdr_len <= MIN(size, window); off += align)
        if (rd32(img + off) == magic)
            return (int64_t)off;
    return -1;
}

int mb1_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem,
             struct load_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    int64_t off = find_magic(img, size, MB1_HEADER_MAGIC, 8192, 4, 12);
    if (off < 0)
        FAIL("no multiboot header in the first 8 KiB");
    const uint8_t *h = img + off;
    uint32_t flags = rd32(h + 4);
    if ((uint32_t)(MB1_HEADER_MAGIC + flags + rd32(h + 8)) != 0)
        FAIL("multiboot header checksum is wrong");
    /* Bits 0-15 are requirements: refuse any we do not understand. */
    uint32_t unknown_required = flags & 0xffff & ~(uint32_t)(MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMINFO | MB1_FLAG_VIDEO);
    if (unknown_required)
        FAIL("multiboot header requires unsupported features %#x", unknown_required);
    if (!(flags & MB1_FLAG_AOUT_KLUDGE))
        return elf_plan(img, size, min_gpa, mem, p, err, errlen);

    if ((uint64_t)off + 32 > size)
        FAIL("multiboot a.out header truncated");
    const struct mb_addrs a = { rd32(h + 12), rd32(h + 16), rd32(h + 20), rd32(h + 24) };
    uint32_t entry = rd32(h + 28);
    if (plan_addrs("multiboot", &a, (uint64_t)off, size, min_gpa, mem, p, err, errlen))
        return -1;
    if (!entry_in_segments(p, entry))
        FAIL("multiboot entry %#x outside the loaded image", entry);
    p->entry = entry;
    return 0;
}

#define MB2_TAG_END        0
#define MB2_TAG_INFO_REQ   1
#define MB2_TAG_ADDRESS    2
#define MB2_TAG_ENTRY      3
#define MB2_TAG_FLAGS      4
#define MB2_TAG_FB         5
#define MB2_TAG_MOD_ALIGN  6
#define MB2_TAG_EFI_BS     7
#define MB2_TAG_ENTRY_EFI32 8
#define MB2_TAG_ENTRY_EFI64 9
#define MB2_TAG_RELOC      10
#define MB2_TAG_OPTIONAL   1

/* Information tags Nestor's MBI carries. */
static bool mb2_info_provided(uint32_t type)
{
    return type == 1 || type == 2 || type == 3 || type == 4 || type == 6;
}

int mb2_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem,
             struct load_plan *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    int64_t off = find_magic(img, size, MB2_HEADER_MAGIC, 32768, 8, 16);
    if (off < 0)
        FAIL("no multiboot2 header in the first 32 KiB");
    const uint8_t *h = img + off;
    uint32_t arch = rd32(h + 4), hlen = rd32(h + 8);
    if ((uint32_t)(MB2_HEADER_MAGIC + arch + hlen + rd32(h + 12)) != 0)
        FAIL("multiboot2 header checksum is wrong");
    if (arch != 0)
        FAIL("multiboot2 architecture %u is not i386", arch);
    if (hlen < 24 || !fits((uint64_t)off, hlen, size))
        FAIL("multiboot2 header length %u is bad", hlen);

    bool have_addr = false, have_entry = false;
    uint32_t header_addr = 0, load_addr = 0, load_end = 0, bss_end = 0, entry = 0;
    for (uint32_t t = 16; t + 8 <= hlen;) {
        const uint8_t *tag = h + t;
        uint16_t type = rd16(tag), tflags = rd16(tag + 2);
        uint32_t tsize = rd32(tag + 4);
        bool optional = tflags & MB2_TAG_OPTIONAL;
        if (tsize < 8 || tsize > hlen - t)
            FAIL("multiboot2 header tag %u has bad size %u", type, tsize);
        if (type == MB2_TAG_END)
            break;
        switch (type) {
        case MB2_TAG_INFO_REQ:
            for (uint32_t i = 8; i + 4 <= tsize; i += 4)
                if (!mb2_info_provided(rd32(tag + i)) && !optional)
                    FAIL("multiboot2 kernel requires information tag %u", rd32(tag + i));
            break;
        case MB2_TAG_ADDRESS:
            if (tsize < 24)
                FAIL("multiboot2 address tag truncated");
            have_addr = true;
            header_addr = rd32(tag + 8);
            load_addr = rd32(tag + 12);
            load_end = rd32(tag + 16);
            bss_end = rd32(tag + 20);
            break;
        case MB2_TAG_ENTRY:
            if (tsize < 12)
                FAIL("multiboot2 entry tag truncated");
            have_entry = true;
            entry = rd32(tag + 8);
            break;
        case MB2_TAG_FLAGS: case MB2_TAG_FB: case MB2_TAG_MOD_ALIGN: case MB2_TAG_RELOC:
            break;  /* text console, no framebuffer, modules page-aligned, load at preferred address */
        case MB2_TAG_EFI_BS: case MB2_TAG_ENTRY_EFI32: case MB2_TAG_ENTRY_EFI64:
            if (!optional)
                FAIL("multiboot2 kernel requires EFI (tag %u)", type);
            break;
        default:
            if (!optional)
                FAIL("multiboot2 header tag %u not supported", type);
        }
        t += ALIGN_UP(tsize, 8u);
    }

    if (have_addr) {
        const struct mb_addrs a = { header_addr, load_addr, load_end, bss_end };
        if (plan_addrs("multiboot2", &a, (uint64_t)off, size, min_gpa, mem, p, err, errlen))
            return -1;
    } else if (elf_plan(img, size, min_gpa, mem, p, err, errlen)) {
        return -1;
    }
    if (have_entry) {
        if (!entry_in_segments(p, entry))
            FAIL("multiboot2 entry %#x outside the loaded image", entry);
        p->entry = entry;
    } else if (have_addr) {
        FAIL("multiboot2 address tag without an entry tag");
    }
    return 0;
}

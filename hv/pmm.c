/* Bitmap frame allocator. */
#include "pmm.h"
#include "console.h"

#define NR_FRAMES   (PMM_MAX_PHYS / PAGE_SIZE)

static uint64_t used[NR_FRAMES / 64];     /* 1 = not available */
static uint64_t ram[NR_FRAMES / 64];      /* 1 = RAM per the memory map */
static uint64_t nr_free;
static uint64_t search_hint;

extern char hv_image_start[], hv_image_end[];

static bool test(const uint64_t *map, uint64_t f) { return map[f / 64] & BIT(f % 64); }
static void set(uint64_t *map, uint64_t f) { map[f / 64] |= BIT(f % 64); }
static void clear(uint64_t *map, uint64_t f) { map[f / 64] &= ~BIT(f % 64); }

static void mark_range(uint64_t pa, uint64_t len, bool free)
{
    uint64_t f = pa / PAGE_SIZE;
    uint64_t end = MIN(ALIGN_UP(pa + len, PAGE_SIZE) / PAGE_SIZE, NR_FRAMES);
    for (; f < end; f++) {
        if (!test(ram, f))
            continue;
        if (free && test(used, f)) {
            clear(used, f);
            nr_free++;
        } else if (!free && !test(used, f)) {
            set(used, f);
            nr_free--;
        }
    }
}

void pmm_init(const struct boot_info *bi)
{
    memset(used, 0xff, sizeof(used));
    for (unsigned i = 0; i < bi->nr_mem; i++) {
        const struct mem_range *r = &bi->mem[i];
        if (r->type != 1)
            continue;
        /* Only whole frames inside the range count as RAM. */
        uint64_t start = ALIGN_UP(r->base, PAGE_SIZE);
        uint64_t end = MIN(ALIGN_DOWN(r->base + r->len, PAGE_SIZE), PMM_MAX_PHYS);
        for (uint64_t f = start / PAGE_SIZE; f < end / PAGE_SIZE; f++)
            set(ram, f);
        mark_range(start, end > start ? end - start : 0, true);
    }
    /* Never hand out: the first MiB (BIOS, IVT, EBDA), the hv image, the
     * boot information, and the modules until their domains are built. */
    mark_range(0, 1 * MiB, false);
    mark_range((uint64_t)(uintptr_t)hv_image_start,
               (uint64_t)(hv_image_end - hv_image_start), false);
    mark_range(ALIGN_DOWN(bi->mbi_start, PAGE_SIZE), bi->mbi_end - ALIGN_DOWN(bi->mbi_start, PAGE_SIZE), false);
    for (unsigned i = 0; i < bi->nr_modules; i++)
        mark_range(bi->modules[i].start, bi->modules[i].end - bi->modules[i].start, false);
}

uint64_t pmm_alloc(uint64_t count, uint64_t align)
{
    uint64_t step = MAX(align / PAGE_SIZE, 1ul);
    if (count == 0 || count > nr_free)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t f = pass == 0 ? ALIGN_UP(search_hint, step) : 0;
        for (; f + count <= NR_FRAMES; f += step) {
            uint64_t i;
            for (i = 0; i < count && !test(used, f + i); i++)
                ;
            if (i == count) {
                for (i = 0; i < count; i++)
                    set(used, f + i);
                nr_free -= count;
                search_hint = f + count;
                return f * PAGE_SIZE;
            }
        }
    }
    return 0;
}

uint64_t pmm_alloc_zeroed_page(void)
{
    uint64_t pa = pmm_alloc(1, PAGE_SIZE);
    if (pa)
        memset(phys_to_virt(pa), 0, PAGE_SIZE);
    return pa;
}

void pmm_free(uint64_t pa, uint64_t count)
{
    mark_range(pa, count * PAGE_SIZE, true);
}

void pmm_release_range(uint64_t pa, uint64_t len)
{
    /* Only whole frames: a module's partial first/last frame may share a
     * frame with the hv's boot information. */
    uint64_t start = ALIGN_UP(pa, PAGE_SIZE), end = ALIGN_DOWN(pa + len, PAGE_SIZE);
    if (end > start)
        mark_range(start, end - start, true);
}

uint64_t pmm_free_bytes(void)
{
    return nr_free * PAGE_SIZE;
}

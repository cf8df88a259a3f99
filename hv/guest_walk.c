/* Guest page-table walker for hypercall buffers and string I/O. */
#include "guest_walk.h"

#define PTE_P    BIT(0)
#define PTE_W    BIT(1)
#define PTE_PS   BIT(7)
#define ADDR_52  0x000ffffffffff000ul
#define CR0_WP_  BIT(16)
#define CR0_PG_  BIT(31)
#define CR4_PSE_ BIT(4)
#define CR4_PAE_ BIT(5)
#define CR4_LA57_ BIT(12)
#define EFER_LMA_ BIT(10)

static enum walk_result check(uint64_t e, bool write, bool wp)
{
    if (!(e & PTE_P))
        return WALK_NOT_PRESENT;
    if (write && wp && !(e & PTE_W))
        return WALK_NOT_WRITABLE;
    return WALK_OK;
}

static enum walk_result walk_32(const struct walk_regs *r, uint64_t gla, bool write,
                                walk_read_fn read, void *ctx, uint64_t *gpa)
{
    bool wp = r->cr0 & CR0_WP_;
    uint64_t pde, pte;
    gla &= 0xffffffff;
    if (!read(ctx, (r->cr3 & 0xfffff000) + ((gla >> 22) << 2), &pde, 4))
        return WALK_BAD_GPA;
    enum walk_result res = check(pde, write, wp);
    if (res != WALK_OK)
        return res;
    if ((pde & PTE_PS) && (r->cr4 & CR4_PSE_)) {
        /* 4 MiB page; bits 20:13 hold physical address bits 39:32 (PSE-36). */
        *gpa = (pde & 0xffc00000) | ((pde & 0x1fe000) << 19) | (gla & 0x3fffff);
        return WALK_OK;
    }
    if (!read(ctx, (pde & 0xfffff000) + (((gla >> 12) & 0x3ff) << 2), &pte, 4))
        return WALK_BAD_GPA;
    if ((res = check(pte, write, wp)) != WALK_OK)
        return res;
    *gpa = (pte & 0xfffff000) | (gla & 0xfff);
    return WALK_OK;
}

/* PAE and 4-level: walk from `table` starting at `level` (3 for PAE's page
 * directory level after the PDPTE, 4 for PML4). */
static enum walk_result walk_64(uint64_t table, unsigned level, uint64_t gla, bool write, bool wp,
                                walk_read_fn read, void *ctx, uint64_t *gpa)
{
    for (;; level--) {
        uint64_t e, idx = (gla >> (12 + 9 * (level - 1))) & 0x1ff;
        if (!read(ctx, table + idx * 8, &e, 8))
            return WALK_BAD_GPA;
        enum walk_result res = check(e, write, wp);
        if (res != WALK_OK)
            return res;
        if (level == 1 || ((e & PTE_PS) && level <= 3)) {
            uint64_t page = 1ul << (12 + 9 * (level - 1));
            *gpa = (e & ADDR_52 & ~(page - 1)) | (gla & (page - 1));
            return WALK_OK;
        }
        table = e & ADDR_52;
    }
}

enum walk_result guest_walk(const struct walk_regs *r, uint64_t gla, bool write,
                            walk_read_fn read, void *ctx, uint64_t *gpa)
{
    bool wp = r->cr0 & CR0_WP_;
    if (!(r->cr0 & CR0_PG_)) {
        *gpa = gla & 0xffffffff;
        return WALK_OK;
    }
    if (!(r->cr4 & CR4_PAE_))
        return walk_32(r, gla, write, read, ctx, gpa);
    if (r->efer & EFER_LMA_) {
        if (r->cr4 & CR4_LA57_)
            return WALK_UNSUPPORTED;
        /* Bits 63:47 must all equal bit 47, or the access would #GP. */
        if (!is_canonical48(gla))
            return WALK_NONCANONICAL;
        return walk_64(r->cr3 & ADDR_52, 4, gla, write, wp, read, ctx, gpa);
    }
    uint64_t pdpte = r->pdpte[(gla >> 30) & 3];
    if (!(pdpte & PTE_P))
        return WALK_NOT_PRESENT;
    return walk_64(pdpte & ADDR_52, 2, gla & 0xffffffff, write, wp, read, ctx, gpa);
}

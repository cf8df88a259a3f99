/* EPT construction and walking. */
#include "ept.h"

#define ENTRIES 512

static uint64_t *table(const struct ept *e, uint64_t pa)
{
    return e->mm->map(e->mm->ctx, pa);
}

static unsigned index_of(uint64_t gpa, unsigned level)
{
    return (gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

static bool is_leaf(uint64_t ent, unsigned level)
{
    return level == EPT_LEVEL_4K || (ent & EPT_LEAF_PS);
}

int ept_init(struct ept *e, const struct ept_mm *mm)
{
    e->mm = mm;
    e->root = mm->alloc_table(mm->ctx);
    e->nr_tables = e->root ? 1 : 0;
    return e->root ? 0 : -1;
}

static void free_level(struct ept *e, uint64_t pa, unsigned level)
{
    uint64_t *t = table(e, pa);
    for (unsigned i = 0; level > 1 && i < ENTRIES; i++) {
        if (ept_present(t[i]) && !is_leaf(t[i], level))
            free_level(e, t[i] & EPT_ADDR_MASK, level - 1);
    }
    e->mm->free_table(e->mm->ctx, pa);
    e->nr_tables--;
}

void ept_destroy(struct ept *e)
{
    if (e->root)
        free_level(e, e->root, 4);
    e->root = 0;
}

/* Non-leaf entries grant everything: permissions live in the leaves. */
static uint64_t new_table_entry(struct ept *e)
{
    uint64_t pa = e->mm->alloc_table(e->mm->ctx);
    if (!pa)
        return 0;
    e->nr_tables++;
    return pa | EPT_RWX;
}

/* Replaces the large leaf *ent (at `level`) by a table of 512 leaves one
 * level down that map the same memory with the same attributes. */
static int split_leaf(struct ept *e, uint64_t *ent, unsigned level)
{
    uint64_t nt = new_table_entry(e);
    if (!nt)
        return -1;
    uint64_t *t = table(e, nt & EPT_ADDR_MASK);
    uint64_t base = *ent & EPT_ADDR_MASK & ~(ept_level_size(level) - 1);
    uint64_t attrs = *ent & ~EPT_ADDR_MASK;
    uint64_t child = ept_level_size(level - 1);
    if (level - 1 == EPT_LEVEL_4K)
        attrs &= ~EPT_LEAF_PS;
    for (unsigned i = 0; i < ENTRIES; i++)
        t[i] = (base + i * child) | attrs;
    *ent = nt;
    return 0;
}

/* Returns the entry for gpa at `level`, creating tables (and splitting large
 * leaves) on the way down.  NULL on allocation failure. */
static uint64_t *walk_create(struct ept *e, uint64_t gpa, unsigned level)
{
    uint64_t *t = table(e, e->root);
    for (unsigned l = 4; l > level; l--) {
        uint64_t *ent = &t[index_of(gpa, l)];
        if (!ept_present(*ent)) {
            uint64_t nt = new_table_entry(e);
            if (!nt)
                return NULL;
            *ent = nt;
        } else if (is_leaf(*ent, l)) {
            if (split_leaf(e, ent, l))
                return NULL;
        }
        t = table(e, *ent & EPT_ADDR_MASK);
    }
    return &t[index_of(gpa, level)];
}

static unsigned best_level(uint64_t gpa, uint64_t hpa, uint64_t left, unsigned max_level)
{
    for (unsigned l = max_level; l > EPT_LEVEL_4K; l--) {
        uint64_t sz = ept_level_size(l);
        if (IS_ALIGNED(gpa | hpa, sz) && left >= sz)
            return l;
    }
    return EPT_LEVEL_4K;
}

static void free_subtree(struct ept *e, uint64_t ent, unsigned level)
{
    if (ept_present(ent) && !is_leaf(ent, level))
        free_level(e, ent & EPT_ADDR_MASK, level - 1);
}

void ept_clear(struct ept *e)
{
    uint64_t *root = table(e, e->root);
    for (unsigned i = 0; i < ENTRIES; i++) {
        free_subtree(e, root[i], 4);
        root[i] = 0;
    }
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size,
            uint64_t flags, unsigned max_level)
{
    if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || (flags & ~EPT_LEAF_FLAGS) ||
        max_level < EPT_LEVEL_4K || max_level > EPT_LEVEL_1G ||
        gpa + size < gpa || ((gpa + size - 1) >> 48) ||
        hpa + size < hpa || ((hpa + size - 1) >> 52))
        return -1;
    while (size) {
        unsigned l = best_level(gpa, hpa, size, max_level);
        uint64_t *ent = walk_create(e, gpa, l);
        if (!ent)
            return -1;
        free_subtree(e, *ent, l);
        *ent = hpa | flags | (l > EPT_LEVEL_4K ? EPT_LEAF_PS : 0);
        gpa += ept_level_size(l);
        hpa += ept_level_size(l);
        size -= ept_level_size(l);
    }
    return 0;
}

uint64_t *ept_lookup(const struct ept *e, uint64_t gpa, unsigned *level)
{
    if (gpa >> 48)
        return NULL;    /* beyond a 4-level walk: must not alias low memory */
    uint64_t *t = table(e, e->root);
    for (unsigned l = 4; l >= 1; l--) {
        uint64_t *ent = &t[index_of(gpa, l)];
        if (!ept_present(*ent))
            return NULL;
        if (is_leaf(*ent, l)) {
            if (level)
                *level = l;
            return ent;
        }
        t = table(e, *ent & EPT_ADDR_MASK);
    }
    return NULL;
}

bool ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *leaf)
{
    unsigned level;
    uint64_t *ent = ept_lookup(e, gpa, &level);
    if (!ent)
        return false;
    uint64_t sz = ept_level_size(level);
    if (hpa)
        *hpa = (*ent & EPT_ADDR_MASK & ~(sz - 1)) | (gpa & (sz - 1));
    if (leaf)
        *leaf = *ent;
    return true;
}

int ept_split(struct ept *e, uint64_t gpa, unsigned level)
{
    unsigned l;
    uint64_t *ent;
    if (level < EPT_LEVEL_4K)
        return -1;
    while ((ent = ept_lookup(e, gpa, &l)) && l > level) {
        if (split_leaf(e, ent, l))
            return -1;
    }
    return 0;
}

/* Calls fn on every leaf in [gpa, gpa+size), first splitting large leaves
 * that straddle either edge, so fn only sees leaves wholly inside. */
static int for_each_leaf(struct ept *e, uint64_t gpa, uint64_t size,
                         void (*fn)(uint64_t *ent, uint64_t clear, uint64_t set),
                         uint64_t clear, uint64_t set)
{
    uint64_t end = gpa + size;
    while (gpa < end) {
        unsigned l;
        uint64_t *ent = ept_lookup(e, gpa, &l);
        if (!ent) {
            gpa += PAGE_SIZE;
            continue;
        }
        uint64_t sz = ept_level_size(l);
        if (!IS_ALIGNED(gpa, sz) || end - gpa < sz) {
            if (split_leaf(e, ent, l))
                return -1;
            continue;
        }
        fn(ent, clear, set);
        gpa += sz;
    }
    return 0;
}

static void leaf_update(uint64_t *ent, uint64_t clear, uint64_t set)
{
    *ent = (*ent & ~clear) | set;
}

static void leaf_clear(uint64_t *ent, uint64_t clear __attribute__((unused)),
                       uint64_t set __attribute__((unused)))
{
    *ent = 0;
}

int ept_update(struct ept *e, uint64_t gpa, uint64_t size, uint64_t clear, uint64_t set)
{
    if (!IS_ALIGNED(gpa | size, PAGE_SIZE) || ((clear | set) & ~EPT_LEAF_FLAGS & ~(EPT_A | EPT_D)))
        return -1;
    return for_each_leaf(e, gpa, size, leaf_update, clear, set);
}

int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
    if (!IS_ALIGNED(gpa | size, PAGE_SIZE))
        return -1;
    return for_each_leaf(e, gpa, size, leaf_clear, 0, 0);
}

uint64_t ept_eptp(const struct ept *e, bool ad)
{
    return e->root | 6 /* WB */ | (3 << 3) /* 4-level walk */ | (ad ? BIT(6) : 0);
}

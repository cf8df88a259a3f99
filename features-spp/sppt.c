/* SPP table building and walking (see sppt.h). */
#include "sppt.h"

#define ENTRIES 512

static uint64_t *table(const struct sppt *s, uint64_t pa)
{
    return s->mm->map(s->mm->ctx, pa);
}

static unsigned index_of(uint64_t gpa, unsigned level)
{
    return (gpa >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

uint64_t spp_vec_to_hw(uint32_t vec)
{
    uint64_t hw = 0;
    for (unsigned i = 0; i < 32; i++)
        if (vec & (1u << i))
            hw |= 1ul << (2 * i);
    return hw;
}

uint32_t spp_hw_to_vec(uint64_t hw)
{
    uint32_t vec = 0;
    for (unsigned i = 0; i < 32; i++)
        if (hw & (1ul << (2 * i)))
            vec |= 1u << i;
    return vec;
}

int sppt_init(struct sppt *s, const struct ept_mm *mm)
{
    s->mm = mm;
    s->root = mm->alloc_table(mm->ctx);
    s->nr_tables = s->root ? 1 : 0;
    return s->root ? 0 : -1;
}

static void free_level(struct sppt *s, uint64_t pa, unsigned level)
{
    uint64_t *t = table(s, pa);
    for (unsigned i = 0; level > 1 && i < ENTRIES; i++)
        if (t[i] & SPPT_VALID)
            free_level(s, t[i] & SPPT_ADDR_MASK, level - 1);
    s->mm->free_table(s->mm->ctx, pa);
    s->nr_tables--;
}

void sppt_destroy(struct sppt *s)
{
    if (s->root)
        free_level(s, s->root, 4);
    s->root = 0;
}

uint64_t *sppt_leaf(struct sppt *s, uint64_t gpa, bool create)
{
    if (!s->root || (gpa >> 48))
        return NULL;
    uint64_t *t = table(s, s->root);
    for (unsigned l = 4; l > 1; l--) {
        uint64_t *ent = &t[index_of(gpa, l)];
        if (!(*ent & SPPT_VALID)) {
            if (!create)
                return NULL;
            uint64_t pa = s->mm->alloc_table(s->mm->ctx);
            if (!pa)
                return NULL;
            s->nr_tables++;
            *ent = pa | SPPT_VALID;
        }
        t = table(s, *ent & SPPT_ADDR_MASK);
    }
    return &t[index_of(gpa, 1)];
}

bool sppt_free_leaf_table(struct sppt *s, uint64_t gpa)
{
    if (!s->root || (gpa >> 48))
        return false;
    uint64_t *t = table(s, s->root);
    for (unsigned l = 4; l > 2; l--) {
        uint64_t ent = t[index_of(gpa, l)];
        if (!(ent & SPPT_VALID))
            return false;
        t = table(s, ent & SPPT_ADDR_MASK);
    }
    uint64_t *ent = &t[index_of(gpa, 2)];
    if (!(*ent & SPPT_VALID))
        return false;
    uint64_t pa = *ent & SPPT_ADDR_MASK;
    *ent = 0;
    s->mm->free_table(s->mm->ctx, pa);
    s->nr_tables--;
    return true;
}

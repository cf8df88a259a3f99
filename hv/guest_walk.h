/* Guest linear → guest physical translation by walking the guest's own
 * page tables (SDM 4.3-4.5): paging off, 32-bit, PAE and 4-level.
 * Pure: guest memory is read through a callback; unit-tested. */
#ifndef HV_GUEST_WALK_H
#define HV_GUEST_WALK_H

#include "lib.h"

struct walk_regs {
    uint64_t cr0, cr3, cr4, efer;
    uint64_t pdpte[4];          /* PAE: the PDPTEs the CPU holds */
};

/* Reads 8 (or 4, for 32-bit paging) bytes of guest-physical memory. */
typedef bool (*walk_read_fn)(void *ctx, uint64_t gpa, uint64_t *val, unsigned size);

enum walk_result { WALK_OK, WALK_NOT_PRESENT, WALK_NOT_WRITABLE, WALK_BAD_GPA, WALK_UNSUPPORTED,
                   WALK_NONCANONICAL };

/* Translates `gla` for a supervisor access (user bit not checked). */
enum walk_result guest_walk(const struct walk_regs *r, uint64_t gla, bool write,
                            walk_read_fn read, void *ctx, uint64_t *gpa);

#endif

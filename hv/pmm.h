/* Physical memory manager: a bitmap of 4 KiB frames built from the boot
 * memory map.  Frames holding the hv image, its boot structures and the boot
 * modules are reserved, so no domain can ever be given them. */
#ifndef HV_PMM_H
#define HV_PMM_H

#include "mb2info.h"

#define PMM_MAX_PHYS   (4 * GiB)    /* the hv maps (and manages) 4 GiB */

void pmm_init(const struct boot_info *bi);
/* Allocates `count` contiguous frames aligned to `align` bytes (a power of
 * two, >= 4 KiB).  Returns the physical address, or 0 if none. Not zeroed. */
uint64_t pmm_alloc(uint64_t count, uint64_t align);
uint64_t pmm_alloc_zeroed_page(void);
void pmm_free(uint64_t pa, uint64_t count);
/* Marks [pa, pa+len) free/reserved (used when boot modules are consumed). */
void pmm_release_range(uint64_t pa, uint64_t len);
uint64_t pmm_free_bytes(void);

/* The hv runs identity-mapped: physical == virtual below 4 GiB. */
static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)pa; }
static inline uint64_t virt_to_phys(const void *va) { return (uint64_t)(uintptr_t)va; }

#endif

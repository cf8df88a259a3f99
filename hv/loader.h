/* Guest image loaders: turn an image into a load plan (segments to copy,
 * entry point), validating everything against the image size and the
 * domain's RAM.  Pure; unit-tested with hand-made malformed images. */
#ifndef HV_LOADER_H
#define HV_LOADER_H

#include "lib.h"

#define LOAD_MAX_SEGS 16

struct load_seg {
    uint64_t file_off, filesz, memsz, gpa;
};

struct load_plan {
    struct load_seg seg[LOAD_MAX_SEGS];
    unsigned nr;
    uint64_t entry;             /* guest-physical entry point */
    uint64_t end;               /* highest loaded gpa + 1 */
};

/* Multiboot v1 header facts (flags word). */
#define MB1_HEADER_MAGIC      0x1badb002u
#define MB1_BOOT_MAGIC        0x2badb002u
#define MB1_FLAG_PAGE_ALIGN   BIT(0)
#define MB1_FLAG_MEMINFO      BIT(1)
#define MB1_FLAG_VIDEO        BIT(2)
#define MB1_FLAG_AOUT_KLUDGE  BIT(16)
#define MB2_HEADER_MAGIC      0xe85250d6u
#define MB2_BOOT_MAGIC        0x36d76289u

/* Plans an ELF (ELFCLASS32 or 64, x86) image by its program headers.
 * Segments must lie in [min_gpa, mem_bytes). */
int elf_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem_bytes,
             struct load_plan *p, char *err, size_t errlen);
/* Plans a multiboot v1 kernel (a.out kludge or ELF). */
int mb1_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem_bytes,
             struct load_plan *p, char *err, size_t errlen);
/* Plans a multiboot2 kernel (address tags or ELF).  Fails when the kernel
 * requires information tags Nestor does not provide. */
int mb2_plan(const uint8_t *img, uint64_t size, uint64_t min_gpa, uint64_t mem_bytes,
             struct load_plan *p, char *err, size_t errlen);

#endif

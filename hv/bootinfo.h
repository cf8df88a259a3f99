/* Builds what a guest finds in memory at its first instruction: Nestor's
 * start info (ELF64 guests) or a multiboot v1/v2 information structure,
 * plus the boot GDT and identity page tables.  Pure: each builder writes
 * into `area`, a host view of guest memory [area_gpa, area_gpa + size). */
#ifndef HV_BOOTINFO_H
#define HV_BOOTINFO_H

#include "lib.h"

#define BOOTINFO_MAX_MODS 8

struct bootinfo_params {
    uint64_t mem_bytes;
    const char *cmdline;
    const char *name;
    uint16_t domid;
    uint32_t flags;
    uint64_t created_tsc;
    unsigned nr_mods;
    struct {
        uint64_t gpa, size;
        const char *cmdline;
    } mods[BOOTINFO_MAX_MODS];
};

struct bootinfo_area {
    uint8_t *base;
    uint64_t gpa;
    uint64_t size;
    uint64_t used;
};

/* Each returns the GPA of the structure it built, or 0 if it did not fit. */
uint64_t bootinfo_start_info(struct bootinfo_area *a, const struct bootinfo_params *p);
uint64_t bootinfo_mbi1(struct bootinfo_area *a, const struct bootinfo_params *p);
uint64_t bootinfo_mbi2(struct bootinfo_area *a, const struct bootinfo_params *p);

/* Boot GDT: 0x08 64-bit code, 0x10 data, 0x18 32-bit code. 32 bytes. */
#define BOOT_GDT_SIZE 32
#define BOOT_GDT_SIZE_LIMIT (BOOT_GDT_SIZE - 1)
void bootinfo_gdt(uint8_t *gdt);
/* PML4 + PDPT + 4 PDs (6 pages at pml4_gpa): first 4 GiB identity with
 * 2 MiB pages, present/writable/user. */
void bootinfo_page_tables(uint8_t *tables, uint64_t pml4_gpa);

#endif

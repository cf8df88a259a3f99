/* The boot information GRUB hands the hv (multiboot2 information). */
#ifndef HV_MB2INFO_H
#define HV_MB2INFO_H

#include "lib.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define HV_MAX_MODULES       32
#define HV_MAX_MEMRANGES     64

struct boot_module {
    uint64_t start, end;        /* physical, [start, end) */
    const char *cmdline;        /* in the MBI; never NULL */
};

struct mem_range {
    uint64_t base, len;
    uint32_t type;              /* 1 = available RAM */
};

struct boot_info {
    const char *cmdline;
    struct boot_module modules[HV_MAX_MODULES];
    unsigned nr_modules;
    unsigned modules_dropped;   /* beyond HV_MAX_MODULES */
    struct mem_range mem[HV_MAX_MEMRANGES];
    unsigned nr_mem;
    uint64_t mbi_start, mbi_end;
};

/* Parses the MBI at `mbi`.  Returns false if it is not a multiboot2 boot. */
bool mb2info_parse(uint32_t magic, uint64_t mbi, struct boot_info *bi);

#endif

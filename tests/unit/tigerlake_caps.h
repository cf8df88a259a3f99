/* The VMX capability MSRs of the reference machine (Bochs 2.7
 * "tigerlake", read there; see ../shared/PLATFORM.md), for unit tests of
 * nested/ that compute what L1 sees from a physical CPU. */
#ifndef TIGERLAKE_CAPS_H
#define TIGERLAKE_CAPS_H

#include "nested_caps.h"

static const struct nested_phys tigerlake = {
    .basic = 0x01d8100000000004ull,
    .pin = 0x000000ff00000016ull,
    .proc = 0xfffbfffe0401e172ull,
    .exit = 0x03ffffff00036dffull,
    .entry = 0x0003ffff000011ffull,
    .misc = 0x7004c1e7ull,
    .cr0_fixed0 = 0x80000021ull, .cr0_fixed1 = 0xffffffffull,
    .cr4_fixed0 = 0x2000ull, .cr4_fixed1 = 0x3767ffull,
    .proc2 = 0x02977fff00000000ull,
    .ept_vpid = 0x00000f0106b34141ull,
    .true_pin = 0x000000ff00000016ull,
    .true_proc = 0xfffbfffe04006172ull,
    .true_exit = 0x03ffffff00036dfbull,
    .true_entry = 0x0003ffff000011fbull,
    .vmfunc = 1,
    .cr4_guest_bits = 0x330fff,
    .maxphyaddr = 40,
};

#endif

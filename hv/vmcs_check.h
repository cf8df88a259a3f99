/* Names the guest-state check (SDM 27.3.1) a failed VM entry tripped on.
 * Hardware only says "invalid guest state"; this re-runs the common checks
 * on a snapshot so the console can say which one. */
#ifndef HV_VMCS_CHECK_H
#define HV_VMCS_CHECK_H

#include "lib.h"

struct seg_state {
    uint16_t sel;
    uint64_t base;
    uint32_t limit, ar;
};

enum { GS_ES, GS_CS, GS_SS, GS_DS, GS_FS, GS_GS, GS_LDTR, GS_TR, GS_NR };

struct guest_state {
    uint64_t cr0, cr4, efer, rflags, rip, link_ptr;
    uint32_t entry_ctls, proc2, activity, interruptibility;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    struct seg_state seg[GS_NR];
};

/* Writes the first failing check into buf ("no failing check found" if
 * none); returns true if one failed.  Pure; unit-tested. */
bool guest_state_check(const struct guest_state *g, char *buf, size_t size);
/* Snapshots the current VMCS and runs guest_state_check. */
bool vmcs_check_guest_state(char *buf, size_t size);

#endif

/* Architectural rules for MSR values that more than one part of the hv
 * checks (WRMSR emulation, nested VM-entry checks).  Pure. */
#ifndef HV_MSR_RULES_H
#define HV_MSR_RULES_H

#include "lib.h"

/* A value WRMSR to IA32_PAT accepts: each byte 0, 1, 4, 5, 6 or 7
 * (SDM Vol. 3, 13.12.2). */
static inline bool pat_valid(uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(pat >> (8 * i));
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

#endif

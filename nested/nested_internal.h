/* Shared by the files of nested/ (not for hv/). */
#ifndef NESTED_INTERNAL_H
#define NESTED_INTERNAL_H

#include "nested.h"
#include "nested_caps.h"

/* The capability MSRs L1 sees, computed from the CPU on first use. */
const struct nested_caps *nested_caps_get(void);

/* CR0 bits that are fixed while L1 is in VMX operation and that the hv
 * traps through the CR0 guest/host mask only then (NE is always trapped). */
#define NESTED_CR0_VMX_TRAPPED (CR0_PE | CR0_PG)

/* Entering / leaving emulated VMX operation: CR0 trapping. */
void nested_cr0_trap(struct vcpu *v, bool on);

#endif

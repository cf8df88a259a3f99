/* Copying to and from guest-linear addresses of the current vCPU (hypercall
 * buffers, string I/O).  Each returns 0 or -EFAULT-style -1. */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "domain.h"

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, uint64_t len);
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, uint64_t len);

#endif

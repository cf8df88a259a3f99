/* Copying to and from guest-linear addresses of the current vCPU (hypercall
 * buffers, string I/O).  Each returns 0 or -EFAULT-style -1. */
#ifndef HV_GUEST_MEM_H
#define HV_GUEST_MEM_H

#include "domain.h"

struct walk_regs;
/* The current vCPU's paging registers, for guest_walk(). */
void guest_walk_regs_current(struct walk_regs *r);
/* guest_walk() read callback over a domain's RAM (ctx: struct domain *). */
bool guest_walk_read_gpa(void *ctx, uint64_t gpa, uint64_t *val, unsigned size);

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, uint64_t len);
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, uint64_t len);

#endif

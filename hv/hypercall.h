/* Hypercalls: Xen's HVM ABI (VMCALL; rax = number; rdi, rsi, rdx, r10, r8;
 * 32-bit guests: ebx, ecx, edx, esi, edi), results as negative Xen errno.
 * Each hypercall lives in its own hc_*.c file. */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#include "domain.h"
#include "xen_abi.h"

#define HYPERCALL_MAX 64

struct hc_args {
    uint64_t a[5];
};

typedef long (*hypercall_fn)(struct vcpu *v, const struct hc_args *args);

/* Writes the hypercall page (MSR 0x40000000 semantics, like Xen): returns
 * 0, or -1 for a GPA outside RAM or a page index other than 0. */
int hypercall_page_install(struct vcpu *v, uint64_t msr_val);
/* The handler for a hypercall number, or NULL (-ENOSYS). */
hypercall_fn hypercall_lookup(uint64_t nr);

long hc_xen_version(struct vcpu *v, const struct hc_args *a);
long hc_console_io(struct vcpu *v, const struct hc_args *a);
long hc_sched_op(struct vcpu *v, const struct hc_args *a);
long hc_memory_op(struct vcpu *v, const struct hc_args *a);
long hc_domctl(struct vcpu *v, const struct hc_args *a);
long hc_sysctl(struct vcpu *v, const struct hc_args *a);
long hc_nestor_op(struct vcpu *v, const struct hc_args *a);

/* Resolves DOMID_SELF and applies the rule every hypercall that names a
 * domain follows: a domain may name itself; only the privileged domain may
 * name another.  Returns 0 and *out, or -XEN_ESRCH / -XEN_EPERM. */
int hc_target_domain(struct vcpu *v, unsigned domid, struct domain **out);
/* Fills Xen's getdomaininfo record for d. */
void hc_fill_domaininfo(const struct domain *d, struct xen_domctl_getdomaininfo *info);

#endif

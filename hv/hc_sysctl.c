/* sysctl (Xen 4.17 interface), privileged domain only: getdomaininfolist. */
#include "hypercall.h"
#include "guest_mem.h"
#include "hc_policy.h"

static long getdomaininfolist(struct vcpu *v, struct xen_sysctl_getdomaininfolist *l)
{
    uint32_t n = 0;
    /* Ascending domain ids from first_domain, at most max_domains. */
    struct domain *d;
    for (unsigned id = l->first_domain; n < l->max_domains && (d = domain_first_from(id)); id = d->id + 1) {
        struct xen_domctl_getdomaininfo info;
        hc_fill_domaininfo(d, &info);
        if (copy_to_guest(v, (uint64_t)(uintptr_t)l->buffer.p + (uint64_t)n * sizeof(info), &info, sizeof(info)))
            return -XEN_EFAULT;
        n++;
    }
    l->num_domains = n;
    return 0;
}

long hc_sysctl(struct vcpu *v, const struct hc_args *a)
{
    struct xen_sysctl op;
    long rc;

    if (copy_from_guest(v, &op, a->a[0], sizeof(op)))
        return -XEN_EFAULT;
    if ((rc = hc_policy_version(op.interface_version, XEN_SYSCTL_INTERFACE_VERSION)))
        return rc;
    if (!(v->dom->flags & NESTOR_DOMF_PRIVILEGED))
        return -XEN_EPERM;
    switch (op.cmd) {
    case XEN_SYSCTL_getdomaininfolist:
        rc = getdomaininfolist(v, &op.u.getdomaininfolist);
        break;
    default:
        return -XEN_ENOSYS;
    }
    if (rc == 0 && copy_to_guest(v, a->a[0], &op, sizeof(op)))
        return -XEN_EFAULT;
    return rc;
}

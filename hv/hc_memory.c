/* memory_op: the queries a guest uses to size itself. */
#include "hypercall.h"
#include "guest_mem.h"
#include "pmm.h"

long hc_memory_op(struct vcpu *v, const struct hc_args *a)
{
    uint64_t cmd = a->a[0], arg = a->a[1];
    domid_t domid;
    struct domain *d;
    int rc;

    switch (cmd) {
    case XENMEM_maximum_ram_page:
        return (long)(PMM_MAX_PHYS / PAGE_SIZE - 1);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn:
        if (copy_from_guest(v, &domid, arg, sizeof(domid)))
            return -XEN_EFAULT;
        if ((rc = hc_target_domain(v, domid, &d)))
            return rc;
        if (cmd == XENMEM_maximum_gpfn)
            return (long)(d->mem_bytes / PAGE_SIZE - 1);
        return (long)(d->mem_bytes / PAGE_SIZE);
    default:
        return -XEN_ENOSYS;
    }
}

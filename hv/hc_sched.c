/* sched_op: yield, block, shutdown (with reason), remote shutdown (dom0). */
#include "hypercall.h"
#include "guest_mem.h"
#include "hc_policy.h"
#include "sched.h"

long hc_sched_op(struct vcpu *v, const struct hc_args *a)
{
    uint64_t cmd = a->a[0], arg = a->a[1];
    int rc;

    switch (cmd) {
    case SCHEDOP_yield:
        sched_yield(v);
        return 0;
    case SCHEDOP_block:
        sched_block(v);
        return 0;
    case SCHEDOP_shutdown: {
        struct sched_shutdown s;
        if (copy_from_guest(v, &s, arg, sizeof(s)))
            return -XEN_EFAULT;
        if ((rc = hc_policy_shutdown_reason(s.reason)))
            return rc;
        domain_end(v->dom, END_SHUTDOWN, s.reason, NULL);
        return 0;
    }
    case SCHEDOP_remote_shutdown: {
        struct sched_remote_shutdown s;
        struct domain *d;
        if (copy_from_guest(v, &s, arg, sizeof(s)))
            return -XEN_EFAULT;
        if ((rc = hc_target_domain(v, s.domain_id, &d)))
            return rc;
        if ((rc = hc_policy_shutdown_reason(s.reason)))
            return rc;
        if (d->state == DOM_DEAD)
            return -XEN_EINVAL;
        domain_end(d, END_SHUTDOWN, s.reason, NULL);
        return 0;
    }
    default:
        return -XEN_ENOSYS;
    }
}

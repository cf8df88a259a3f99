/* domctl (Xen 4.17 interface): getdomaininfo, pause, unpause. */
#include "hypercall.h"
#include "guest_mem.h"
#include "hc_policy.h"
#include "sched.h"

void hc_fill_domaininfo(const struct domain *d, struct xen_domctl_getdomaininfo *info)
{
    memset(info, 0, sizeof(*info));
    info->domain = d->id;
    info->flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_hap;
    if (d->state == DOM_DEAD) {
        info->flags |= XEN_DOMINF_dying | XEN_DOMINF_shutdown;
        unsigned code = d->end == END_SHUTDOWN ? (unsigned)d->end_code : SHUTDOWN_crash;
        if (d->end == END_EXIT && d->end_code == 0)
            code = SHUTDOWN_poweroff;
        info->flags |= (code & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift;
    } else {
        if (d->pause_count)
            info->flags |= XEN_DOMINF_paused;
        else if (d->vcpu[0].state == VCPU_BLOCKED)
            info->flags |= XEN_DOMINF_blocked;
        else
            info->flags |= XEN_DOMINF_running;
    }
    info->tot_pages = d->state == DOM_DEAD ? 0 : d->mem_bytes / PAGE_SIZE;
    info->max_pages = d->mem_bytes / PAGE_SIZE;
    /* cpu_time: TSC cycles the domain's vCPUs spent in the hv on their
     * behalf (documented deviation: Xen reports nanoseconds of run time). */
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        for (unsigned r = 0; r < NESTOR_NR_EXIT_REASONS; r++)
            info->cpu_time += d->vcpu[i].exits[r].cycles;
    info->nr_online_vcpus = d->state == DOM_DEAD ? 0 : d->nr_vcpus;
    info->max_vcpu_id = d->nr_vcpus - 1;
    info->handle[0] = 'N';
    info->handle[15] = (uint8_t)d->id;
    info->gpaddr_bits = 36;
}

static long getdomaininfo(struct vcpu *v, struct xen_domctl *op)
{
    unsigned id = op->domain == DOMID_SELF ? v->dom->id : op->domain;
    struct domain *d;
    if (v->dom->flags & NESTOR_DOMF_PRIVILEGED) {
        /* Xen 4.17: the first domain whose id is >= the one asked for. */
        if (!(d = domain_first_from(id)))
            return -XEN_ESRCH;
    } else {
        int rc = hc_target_domain(v, id, &d);
        if (rc)
            return rc;
    }
    hc_fill_domaininfo(d, &op->u.getdomaininfo);
    op->domain = d->id;
    return 0;
}

static long pause_unpause(struct vcpu *v, struct xen_domctl *op, bool unpause)
{
    struct domain *d;
    int rc = hc_target_domain(v, op->domain, &d);
    if (rc)
        return rc;
    if (d->state == DOM_DEAD)
        return -XEN_EINVAL;
    if ((rc = hc_policy_pause(v->dom->id, d->id, unpause, d->pause_count)))
        return rc;
    if (unpause) {
        d->pause_count--;
    } else {
        d->pause_count++;
        logdirty_pause(d);      /* a paused domain's log is complete */
    }
    return 0;
}

static long shadow_op(struct vcpu *v, struct xen_domctl *op)
{
    struct domain *d;
    int rc = hc_target_domain(v, op->domain, &d);
    if (rc)
        return rc;
    /* As Xen: a domain may not run paging operations on itself. */
    if (d == v->dom || d->state == DOM_DEAD)
        return -XEN_EINVAL;
    return logdirty_shadow_op(v, d, &op->u.shadow_op);
}

long hc_domctl(struct vcpu *v, const struct hc_args *a)
{
    struct xen_domctl op;
    long rc;

    if (copy_from_guest(v, &op, a->a[0], sizeof(op)))
        return -XEN_EFAULT;
    if ((rc = hc_policy_version(op.interface_version, XEN_DOMCTL_INTERFACE_VERSION)))
        return rc;
    switch (op.cmd) {
    case XEN_DOMCTL_getdomaininfo:
        rc = getdomaininfo(v, &op);
        break;
    case XEN_DOMCTL_pausedomain:
        return pause_unpause(v, &op, false);
    case XEN_DOMCTL_unpausedomain:
        return pause_unpause(v, &op, true);
    case XEN_DOMCTL_shadow_op:
        rc = shadow_op(v, &op);
        /* The updated pages and stats are returned even on some errors. */
        if (copy_to_guest(v, a->a[0], &op, sizeof(op)))
            return -XEN_EFAULT;
        return rc;
    default:
        return -XEN_ENOSYS;
    }
    if (rc == 0 && copy_to_guest(v, a->a[0], &op, sizeof(op)))
        return -XEN_EFAULT;
    return rc;
}

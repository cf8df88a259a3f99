/* nestor_op: Nestor's own hypercall (exit statistics). */
#include "hypercall.h"
#include "guest_mem.h"
#include "stats.h"
#include "pml.h"
#include "spp.h"

static long get_exit_stats(struct vcpu *v, uint64_t gla)
{
    static struct nestor_exit_stats st;
    struct domain *d;
    int rc;

    if (copy_from_guest(v, &st, gla, 4))
        return -XEN_EFAULT;
    if ((rc = hc_target_domain(v, st.domid, &d)))
        return rc;
    if (st.vcpu >= d->nr_vcpus)
        return -XEN_EINVAL;
    stats_fill(&d->vcpu[st.vcpu], &st);
    st.domid = d->id;
    if (copy_to_guest(v, gla, &st, sizeof(st)))
        return -XEN_EFAULT;
    return 0;
}

long hc_nestor_op(struct vcpu *v, const struct hc_args *a)
{
    uint64_t cmd = a->a[0];
    /* Command ranges: 0x001-0x0ff general, 0x100-0x1ff dirty tracking,
     * 0x200-0x2ff SPP (see nestor/abi.h). */
    if (cmd >= 0x100 && cmd < 0x200)
        return track_op(v, (unsigned)cmd, a->a[1]);
    if (cmd >= 0x200 && cmd < 0x300)
        return spp_op(v, (unsigned)cmd, a->a[1]);
    switch (cmd) {
    case NESTOR_OP_get_exit_stats:
        return get_exit_stats(v, a->a[1]);
    default:
        return -XEN_ENOSYS;
    }
}

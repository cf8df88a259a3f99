/* console_io: write to the hv console (as "[dN] ..."); dom0 may read the
 * hv console history. */
#include "hypercall.h"
#include "console.h"
#include "guest_mem.h"
#include "hc_policy.h"
#include "vdev.h"

long hc_console_io(struct vcpu *v, const struct hc_args *a)
{
    static char buf[CONSOLE_IO_MAX];
    uint64_t cmd = a->a[0], count = a->a[1], gla = a->a[2];
    int rc;

    switch (cmd) {
    case CONSOLEIO_write:
        if ((rc = hc_policy_console_len(count)))
            return rc;
        /* All or nothing: a bad buffer prints nothing. */
        if (copy_from_guest(v, buf, gla, count))
            return -XEN_EFAULT;
        dom_console_write(v->dom, buf, count);
        return 0;
    case CONSOLEIO_read: {
        if (!(v->dom->flags & NESTOR_DOMF_PRIVILEGED))
            return -XEN_EPERM;
        size_t n = console_history(buf, MIN(count, (uint64_t)sizeof(buf)));
        if (copy_to_guest(v, gla, buf, n))
            return -XEN_EFAULT;
        return (long)n;
    }
    default:
        return -XEN_ENOSYS;
    }
}

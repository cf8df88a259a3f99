/* xen_version: Nestor reports the Xen ABI version it implements (4.17),
 * with "-nestor" as the extra version. */
#include "hypercall.h"
#include "guest_mem.h"
#include "mb2info.h"

extern const char *hv_cmdline;

static long copy_out(struct vcpu *v, uint64_t gla, const void *src, size_t len)
{
    return copy_to_guest(v, gla, src, len) ? -XEN_EFAULT : 0;
}

long hc_xen_version(struct vcpu *v, const struct hc_args *a)
{
    uint64_t arg = a->a[1];
    switch (a->a[0]) {
    case XENVER_version:
        return (4 << 16) | 17;
    case XENVER_extraversion: {
        xen_extraversion_t s = "-nestor";
        return copy_out(v, arg, s, sizeof(s));
    }
    case XENVER_compile_info: {
        xen_compile_info_t ci = { .compiler = "gcc", .compile_by = "nestor",
                                  .compile_domain = "nestor", .compile_date = __DATE__ };
        return copy_out(v, arg, &ci, sizeof(ci));
    }
    case XENVER_capabilities: {
        static xen_capabilities_info_t caps = "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64";
        return copy_out(v, arg, caps, sizeof(caps));
    }
    case XENVER_changeset: {
        xen_changeset_info_t cs = "nestor";
        return copy_out(v, arg, cs, sizeof(cs));
    }
    case XENVER_platform_parameters: {
        xen_platform_parameters_t pp = { .virt_start = 0 };   /* HVM: no hv hole */
        return copy_out(v, arg, &pp, sizeof(pp));
    }
    case XENVER_get_features: {
        xen_feature_info_t fi;
        if (copy_from_guest(v, &fi, arg, sizeof(fi)))
            return -XEN_EFAULT;
        fi.submap = 0;          /* no Xen PV features are offered */
        return copy_out(v, arg, &fi, sizeof(fi));
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_guest_handle: {
        xen_domain_handle_t h = { 'N', 'S', 'T', 'R', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  (uint8_t)v->dom->id };
        return copy_out(v, arg, h, sizeof(h));
    }
    case XENVER_commandline: {
        if (!(v->dom->flags & NESTOR_DOMF_PRIVILEGED))
            return -XEN_EPERM;
        static xen_commandline_t cl;
        strcpy_bounded(cl, hv_cmdline, sizeof(cl));
        return copy_out(v, arg, cl, sizeof(cl));
    }
    default:
        return -XEN_ENOSYS;
    }
}

/*
 * logdirty: dom0 tracks a dirty_writer domain (target=ID) with Xen's
 * XEN_DOMCTL_shadow_op and checks every round's bitmap against
 * dirty_pattern.h exactly: no missed page, no extra page.  Also checks the
 * error cases Xen defines (enabling twice, targeting itself, CLEAN before
 * enabling, bad handles and mode bits) and PEEK vs CLEAN semantics.
 * Protocol: the writer runs one round per turn, ends it with one CPUID
 * (visible in its exit statistics) and yields; dom0 unpauses it, yields
 * until the marker count moves, pauses it, then CLEANs.
 */
#include "rt.h"
#include "../dirty_pattern.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sched.h>
#include <xen/errno.h>

static domid_t target;
static uint8_t bitmap[65536] __attribute__((aligned(4096)));
static struct nestor_exit_stats st;

static long domctl_op(uint32_t cmd, domid_t dom, struct xen_domctl *d)
{
    d->cmd = cmd;
    d->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    d->domain = dom;
    return hypercall1(__HYPERVISOR_domctl, d);
}

static long shadow(domid_t dom, uint32_t op, uint32_t mode, void *buf, uint64_t pages, struct xen_domctl *out)
{
    struct xen_domctl d;
    memset(&d, 0, sizeof(d));
    d.u.shadow_op.op = op;
    d.u.shadow_op.mode = mode;
    set_xen_guest_handle(d.u.shadow_op.dirty_bitmap, buf);
    d.u.shadow_op.pages = pages;
    long r = domctl_op(XEN_DOMCTL_shadow_op, dom, &d);
    if (out)
        *out = d;
    return r;
}

static void set_paused(bool paused)
{
    struct xen_domctl d;
    memset(&d, 0, sizeof(d));
    domctl_op(paused ? XEN_DOMCTL_pausedomain : XEN_DOMCTL_unpausedomain, target, &d);
}

static uint64_t writer_markers(void)
{
    st.domid = target;
    st.vcpu = 0;
    hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, &st);
    return st.reason[10].count;         /* CPUID */
}

static bool writer_ended(void);
static bool writer_ended(void)
{
    struct xen_domctl d;
    memset(&d, 0, sizeof(d));
    return domctl_op(XEN_DOMCTL_getdomaininfo, target, &d) != 0 ||
           (d.u.getdomaininfo.flags & XEN_DOMINF_shutdown);
}

/* Lets the writer run exactly one more round. */
static bool run_one_round(uint64_t *markers)
{
    set_paused(false);
    while (writer_markers() == *markers) {
        if (writer_ended())
            return false;
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
    }
    set_paused(true);
    (*markers)++;
    return true;
}

static bool bit(uint64_t pfn) { return bitmap[pfn / 8] & (1u << (pfn % 8)); }

static void check_round(unsigned r, uint64_t writer_pages, struct xen_domctl *res)
{
    uint64_t base = DIRTY_BASE / 4096, npages = writer_pages - base;
    uint64_t missed = 0, extra = 0, expected = 0;
    for (uint64_t p = 0; p < npages; p++) {
        bool want = dirty_round_page(r, p, npages), got = bit(base + p);
        expected += want;
        missed += want && !got;
        extra += got && !want;
        if ((want != got) && missed + extra <= 3)
            rt_printf("round %u: page %#lx %s\n", r, (base + p) * 4096, want ? "missed" : "extra");
    }
    CHECK(missed == 0 && extra == 0, "round %u: %lu pages expected dirty, %lu missed, %lu extra "
          "(dirty_count %u, fault_count %u)", r, expected, missed, extra,
          res->u.shadow_op.stats.dirty_count, res->u.shadow_op.stats.fault_count);
}

/* bench rounds=N: track the writer's benchmark rounds with a CLEAN after
 * each, as live migration would; the writer times its own writes. */
static void bench(void)
{
    uint64_t rounds = rt_arg_u64("rounds", 4), markers;
    domid_t t = target;
    uint64_t pages = (uint64_t)hypercall2(__HYPERVISOR_memory_op, 14, &t) + 1;
    set_paused(true);
    markers = writer_markers();
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == 0, "log-dirty on");
    for (uint64_t r = 0; r < rounds; r++) {
        struct xen_domctl res;
        if (!CHECK(run_one_round(&markers), "writer ran round %lu", r))
            break;
        CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bitmap, pages, &res) == 0,
              "CLEAN after round %lu: %u dirty pages, %u faults", r,
              res.u.shadow_op.stats.dirty_count, res.u.shadow_op.stats.fault_count);
    }
    set_paused(false);
}

/* dying: track a domain that ends while tracked; afterwards every
 * log-dirty operation on it fails cleanly and the hv runs on. */
static void dying(void)
{
    struct xen_domctl d;
    set_paused(true);
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == 0, "log-dirty on dom%u", target);
    set_paused(false);
    unsigned spins = 0;
    while (!writer_ended() && spins++ < 100000)
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
    CHECK(writer_ended(), "dom%u ended while tracked", target);
    memset(&d, 0, sizeof(d));
    long rc = domctl_op(XEN_DOMCTL_getdomaininfo, target, &d);
    CHECK(rc == 0 && (d.u.getdomaininfo.flags & XEN_DOMINF_dying) &&
          d.u.getdomaininfo.tot_pages == 0, "its memory is released (flags %#x, %lu pages)",
          d.u.getdomaininfo.flags, d.u.getdomaininfo.tot_pages);
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bitmap, 8192, NULL) == -XEN_EINVAL, "CLEAN on the ended domain -> -EINVAL");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, 0, NULL) == -XEN_EINVAL, "OFF on the ended domain -> -EINVAL");
}

void test_main(void)
{
    target = (domid_t)rt_arg_u64("target", 1);
    if (rt_arg_flag("dying")) {
        dying();
        return;
    }
    if (rt_arg_flag("bench")) {
        bench();
        return;
    }
    struct xen_domctl res;
    domid_t self = (domid_t)rt_boot.domid;

    set_paused(true);
    uint64_t markers = writer_markers();
    /* Boot domains run in creation order, so the writer has not run yet. */
    CHECK(markers == 0, "writer paused before its first round");
    uint64_t writer_pages;
    {
        domid_t t = target;
        writer_pages = (uint64_t)hypercall2(__HYPERVISOR_memory_op, 14 /* maximum_gpfn */, &t) + 1;
    }
    CHECK(writer_pages * 4096 > DIRTY_BASE, "writer dom%u has %lu pages", target, writer_pages);

    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, bitmap, writer_pages, NULL) == -XEN_EINVAL,
          "CLEAN before enabling -> -EINVAL");
    CHECK(shadow(self, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == -XEN_EINVAL,
          "log-dirty on itself -> -EINVAL");
    CHECK(shadow(999, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == -XEN_ESRCH,
          "log-dirty on a nonexistent domain -> -ESRCH");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_ENABLE, XEN_DOMCTL_SHADOW_ENABLE_REFCOUNT, NULL, 0, NULL) == -XEN_EINVAL,
          "ENABLE with a non-log-dirty mode -> -EINVAL");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == 0, "ENABLE_LOGDIRTY");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, 0, NULL, 0, NULL) == -XEN_EINVAL,
          "ENABLE_LOGDIRTY twice -> -EINVAL");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 2, bitmap, writer_pages, NULL) == -XEN_EINVAL,
          "CLEAN with unknown mode bits -> -EINVAL");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, (void *)0x7f0000000000ull, writer_pages, NULL) == -XEN_EFAULT,
          "CLEAN into an unmapped bitmap -> -EFAULT");
    /* Start from a clean slate (the writer has not run yet, but its boot
     * may have touched pages). */
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, 0, NULL, writer_pages, NULL) == 0,
          "CLEAN with a null bitmap only resets");

    for (unsigned r = 0; r < DIRTY_ROUNDS; r++) {
        if (!CHECK(run_one_round(&markers), "writer ran round %u", r))
            break;
        memset(bitmap, 0, sizeof(bitmap));
        if (r == 2) {
            /* PEEK does not reset: the following CLEAN sees the same pages. */
            CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bitmap, writer_pages, &res) == 0 &&
                  res.u.shadow_op.pages == writer_pages, "PEEK round 2 (%lu pages)", res.u.shadow_op.pages);
            check_round(r, writer_pages, &res);
            memset(bitmap, 0, sizeof(bitmap));
        }
        uint32_t mode = r == DIRTY_ROUNDS - 1 ? XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL : 0;
        CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_CLEAN, mode, bitmap, writer_pages, &res) == 0,
              "CLEAN after round %u%s", r, mode ? " (LOGDIRTY_FINAL)" : "");
        check_round(r, writer_pages, &res);
    }
    /* A buffer smaller than the domain: only that many pages come back. */
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bitmap, 100, &res) == 0 && res.u.shadow_op.pages == 100,
          "PEEK with pages=100 returns 100");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_OFF, 0, NULL, 0, NULL) == 0, "log-dirty OFF");
    CHECK(shadow(target, XEN_DOMCTL_SHADOW_OP_PEEK, 0, bitmap, writer_pages, NULL) == -XEN_EINVAL,
          "PEEK after OFF -> -EINVAL");
    set_paused(false);
}

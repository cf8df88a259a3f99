/*
 * hypercalls: every hypercall Nestor implements, with good and bad
 * arguments (unknown numbers and sub-commands, bad pointers, oversize
 * lengths, wrong interface versions, foreign domains, CPL 3 callers).
 * Run it as dom0 (priv) and as a domU: the privilege rules differ, and
 * the test checks the right ones for how it was started.  A long-running
 * peer domain (e.g. sched_spin) lets dom0 test pause/unpause on it.
 */
#include "rt.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/sched.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/errno.h>

static bool priv;
static uint8_t buf[8192] __attribute__((aligned(4096)));
/* Linear addresses that are not usable buffers: beyond the 4 GiB the boot
 * page tables map, non-canonical, and guest-physical beyond RAM. */
#define UNMAPPED     0x7f0000000000ull
#define NONCANON     0x8000000000000000ull
static uint64_t beyond_ram(void) { return rt_boot.mem_bytes + 0x1000; }

static void test_unknown_numbers(void)
{
    static const uint64_t nrs[] = { 0, 1, 11, 40, 47, 53, 55, 63, 64, 1000, ~0ull };
    for (unsigned i = 0; i < ARRAY_SIZE(nrs); i++)
        CHECK(hypercall5(nrs[i], 0, 0, 0, 0, 0) == -XEN_ENOSYS, "hypercall %#lx -> -ENOSYS", nrs[i]);
}

static void test_xen_version(void)
{
    long v = hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
    CHECK(v == ((4 << 16) | 17), "xen_version: ABI version 4.17 (got %#lx)", v);
    memset(buf, 0, sizeof(buf));
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_extraversion, buf) == 0 &&
          !strcmp((char *)buf, "-nestor"), "xen_version extraversion '%s'", buf);
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_capabilities, buf) == 0 &&
          strstr_local((char *)buf, "hvm-3.0-x86_64"), "capabilities '%s'", buf);
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_compile_info, buf) == 0,
          "compile_info");
    xen_feature_info_t fi = { .submap_idx = 0, .submap = 0xffffffff };
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_get_features, &fi) == 0 && fi.submap == 0,
          "get_features: no Xen PV features (submap %#x)", fi.submap);
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_pagesize, 0) == 4096, "pagesize 4096");
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_guest_handle, buf) == 0, "guest_handle");
    long cl = hypercall2(__HYPERVISOR_xen_version, XENVER_commandline, buf);
    CHECK(priv ? cl == 0 : cl == -XEN_EPERM, "commandline: %s (got %ld)", priv ? "dom0 reads it" : "-EPERM", cl);
    CHECK(hypercall2(__HYPERVISOR_xen_version, 12345, buf) == -XEN_ENOSYS, "unknown sub-op -> -ENOSYS");
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_extraversion, UNMAPPED) == -XEN_EFAULT,
          "extraversion to an unmapped pointer -> -EFAULT");
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_capabilities, NONCANON) == -XEN_EFAULT,
          "capabilities to a non-canonical pointer -> -EFAULT");
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_capabilities, beyond_ram()) == -XEN_EFAULT,
          "capabilities to guest-physical beyond RAM -> -EFAULT");
    /* A buffer straddling the end of RAM: nothing past RAM may be written. */
    CHECK(hypercall2(__HYPERVISOR_xen_version, XENVER_capabilities, rt_boot.mem_bytes - 16) == -XEN_EFAULT,
          "capabilities straddling the end of RAM -> -EFAULT");
}

static void test_console_io(void)
{
    static const char msg[] = "console_io says hello\n";
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(msg) - 1, msg) == 0, "console_io write");
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 0, msg) == 0, "console_io write of 0 bytes");
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 16385, buf) == -XEN_EINVAL,
          "console_io write of 16385 bytes -> -EINVAL");
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, ~0ull, buf) == -XEN_EINVAL,
          "console_io write of 2^64-1 bytes -> -EINVAL");
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 10, UNMAPPED) == -XEN_EFAULT,
          "console_io write from an unmapped pointer -> -EFAULT");
    CHECK(hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 64, rt_boot.mem_bytes - 32) == -XEN_EFAULT,
          "console_io write straddling the end of RAM -> -EFAULT");
    long r = hypercall3(__HYPERVISOR_console_io, CONSOLEIO_read, 256, buf);
    CHECK(priv ? r > 0 : r == -XEN_EPERM, "console_io read: %s (got %ld)", priv ? "dom0 reads history" : "-EPERM", r);
    CHECK(hypercall3(__HYPERVISOR_console_io, 77, 1, buf) == -XEN_ENOSYS, "console_io unknown cmd -> -ENOSYS");
}

static void test_sched_op(void)
{
    CHECK(hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0) == 0, "sched_op yield");
    struct sched_shutdown bad = { .reason = 99 };
    CHECK(hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &bad) == -XEN_EINVAL,
          "shutdown with reason 99 -> -EINVAL");
    CHECK(hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, UNMAPPED) == -XEN_EFAULT,
          "shutdown with an unmapped argument -> -EFAULT");
    struct sched_remote_shutdown rs = { .domain_id = 999, .reason = SHUTDOWN_poweroff };
    long r = hypercall2(__HYPERVISOR_sched_op, SCHEDOP_remote_shutdown, &rs);
    CHECK(r == (priv ? -XEN_ESRCH : -XEN_EPERM), "remote_shutdown of domain 999 -> %s (got %ld)",
          priv ? "-ESRCH" : "-EPERM", r);
    CHECK(hypercall2(__HYPERVISOR_sched_op, 1234, 0) == -XEN_ENOSYS, "sched_op unknown cmd -> -ENOSYS");
}

static void test_memory_op(void)
{
    domid_t self = DOMID_SELF, me = (domid_t)rt_boot.domid, other = (domid_t)(rt_boot.domid + 100);
    long max = (long)(rt_boot.mem_bytes / 4096 - 1);
    CHECK(hypercall2(__HYPERVISOR_memory_op, XENMEM_maximum_gpfn, &self) == max, "maximum_gpfn(DOMID_SELF) = %ld", max);
    CHECK(hypercall2(__HYPERVISOR_memory_op, XENMEM_maximum_gpfn, &me) == max, "maximum_gpfn(own id)");
    CHECK(hypercall2(__HYPERVISOR_memory_op, XENMEM_current_reservation, &self) == max + 1,
          "current_reservation = %ld pages", max + 1);
    long r = hypercall2(__HYPERVISOR_memory_op, XENMEM_maximum_gpfn, &other);
    CHECK(r == (priv ? -XEN_ESRCH : -XEN_EPERM), "maximum_gpfn(nonexistent/foreign) -> %s (got %ld)",
          priv ? "-ESRCH" : "-EPERM", r);
    CHECK(hypercall2(__HYPERVISOR_memory_op, XENMEM_maximum_gpfn, UNMAPPED) == -XEN_EFAULT,
          "maximum_gpfn with an unmapped argument -> -EFAULT");
    CHECK(hypercall2(__HYPERVISOR_memory_op, 9999, &self) == -XEN_ENOSYS, "memory_op unknown cmd -> -ENOSYS");
}

static long domctl(struct xen_domctl *d) { return hypercall1(__HYPERVISOR_domctl, d); }

static struct xen_domctl mk_domctl(uint32_t cmd, domid_t dom)
{
    struct xen_domctl d;
    memset(&d, 0, sizeof(d));
    d.cmd = cmd;
    d.interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    d.domain = dom;
    return d;
}

/* dom0: finds another running domain, or returns -1. */
static int other_running_domain(void)
{
    static xen_domctl_getdomaininfo_t info[16];
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_getdomaininfolist;
    s.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    s.u.getdomaininfolist.first_domain = 0;
    s.u.getdomaininfolist.max_domains = 16;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, info);
    if (hypercall1(__HYPERVISOR_sysctl, &s))
        return -1;
    for (unsigned i = 0; i < s.u.getdomaininfolist.num_domains; i++)
        if (info[i].domain != rt_boot.domid && !(info[i].flags & XEN_DOMINF_shutdown))
            return info[i].domain;
    return -1;
}

static void test_domctl(void)
{
    struct xen_domctl d = mk_domctl(XEN_DOMCTL_getdomaininfo, DOMID_SELF);
    d.interface_version = 0x14;
    CHECK(domctl(&d) == -XEN_EACCES, "domctl with interface version 0x14 -> -EACCES");
    d = mk_domctl(XEN_DOMCTL_getdomaininfo, DOMID_SELF);
    CHECK(domctl(&d) == 0 && d.domain == rt_boot.domid && d.u.getdomaininfo.domain == rt_boot.domid &&
          d.u.getdomaininfo.max_pages == rt_boot.mem_bytes / 4096 &&
          (d.u.getdomaininfo.flags & XEN_DOMINF_hvm_guest) && (d.u.getdomaininfo.flags & XEN_DOMINF_running),
          "getdomaininfo(self): id %u, %lu pages, flags %#x", d.u.getdomaininfo.domain,
          d.u.getdomaininfo.max_pages, d.u.getdomaininfo.flags);
    CHECK(hypercall1(__HYPERVISOR_domctl, UNMAPPED) == -XEN_EFAULT, "domctl with an unmapped argument -> -EFAULT");
    d = mk_domctl(XEN_DOMCTL_pausedomain, DOMID_SELF);
    CHECK(domctl(&d) == -XEN_EINVAL, "pausing oneself -> -EINVAL");
    d = mk_domctl(XEN_DOMCTL_unpausedomain, (domid_t)rt_boot.domid);
    CHECK(domctl(&d) == -XEN_EINVAL, "unpausing oneself -> -EINVAL");
    d = mk_domctl(77, DOMID_SELF);
    CHECK(domctl(&d) == -XEN_ENOSYS, "domctl unknown cmd -> -ENOSYS");

    if (!priv) {
        unsigned other = rt_boot.domid == 1 ? 2 : 1;
        d = mk_domctl(XEN_DOMCTL_getdomaininfo, (domid_t)other);
        CHECK(domctl(&d) == -XEN_EPERM, "domU getdomaininfo(dom%u) -> -EPERM", other);
        d = mk_domctl(XEN_DOMCTL_pausedomain, (domid_t)other);
        CHECK(domctl(&d) == -XEN_EPERM, "domU pausing dom%u -> -EPERM", other);
        return;
    }
    d = mk_domctl(XEN_DOMCTL_pausedomain, 999);
    CHECK(domctl(&d) == -XEN_ESRCH, "dom0 pausing nonexistent domain 999 -> -ESRCH");
    int peer = other_running_domain();
    if (!CHECK(peer >= 0, "dom0 found a running peer domain (%d)", peer))
        return;
    d = mk_domctl(XEN_DOMCTL_unpausedomain, (domid_t)peer);
    CHECK(domctl(&d) == -XEN_EINVAL, "unpausing a domain that is not paused -> -EINVAL");
    d = mk_domctl(XEN_DOMCTL_pausedomain, (domid_t)peer);
    CHECK(domctl(&d) == 0, "dom0 pauses dom%d", peer);
    d = mk_domctl(XEN_DOMCTL_getdomaininfo, (domid_t)peer);
    CHECK(domctl(&d) == 0 && (d.u.getdomaininfo.flags & XEN_DOMINF_paused),
          "dom%d reported paused (flags %#x)", peer, d.u.getdomaininfo.flags);
    /* While paused, the peer must not run: yield a few times and check that
     * its exit count does not move. */
    struct nestor_exit_stats *st = (void *)buf;
    memset(st, 0, sizeof(*st));
    st->domid = (uint16_t)peer;
    hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, st);
    uint64_t before = st->total_exits;
    for (int i = 0; i < 5; i++)
        hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0);
    st->domid = (uint16_t)peer;
    hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, st);
    CHECK(st->total_exits == before, "paused dom%d did not run (%lu -> %lu exits)", peer, before, st->total_exits);
    d = mk_domctl(XEN_DOMCTL_unpausedomain, (domid_t)peer);
    CHECK(domctl(&d) == 0, "dom0 unpauses dom%d", peer);
    /* getdomaininfo returns the first domain with id >= the one asked. */
    d = mk_domctl(XEN_DOMCTL_getdomaininfo, (domid_t)(rt_boot.domid + 1));
    CHECK(domctl(&d) == 0 && d.domain > rt_boot.domid, "getdomaininfo(%u) -> next domain %u",
          rt_boot.domid + 1, d.domain);
}

static void test_sysctl(void)
{
    static xen_domctl_getdomaininfo_t info[16];
    struct xen_sysctl s;
    memset(&s, 0, sizeof(s));
    s.cmd = XEN_SYSCTL_getdomaininfolist;
    s.interface_version = XEN_SYSCTL_INTERFACE_VERSION - 1;
    CHECK(hypercall1(__HYPERVISOR_sysctl, &s) == -XEN_EACCES, "sysctl with an old interface version -> -EACCES");
    s.interface_version = XEN_SYSCTL_INTERFACE_VERSION;
    s.u.getdomaininfolist.max_domains = 16;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, info);
    long r = hypercall1(__HYPERVISOR_sysctl, &s);
    if (!priv) {
        CHECK(r == -XEN_EPERM, "domU sysctl -> -EPERM (got %ld)", r);
        return;
    }
    CHECK(r == 0 && s.u.getdomaininfolist.num_domains >= 2 && info[0].domain == 0,
          "getdomaininfolist: %u domains, first dom%u", s.u.getdomaininfolist.num_domains, info[0].domain);
    bool ascending = true;
    for (unsigned i = 1; i < s.u.getdomaininfolist.num_domains; i++)
        ascending &= info[i].domain > info[i - 1].domain;
    CHECK(ascending, "getdomaininfolist in ascending domain order");
    s.u.getdomaininfolist.max_domains = 0;
    CHECK(hypercall1(__HYPERVISOR_sysctl, &s) == 0 && s.u.getdomaininfolist.num_domains == 0,
          "getdomaininfolist with max_domains 0 returns none");
    s.u.getdomaininfolist.max_domains = 16;
    set_xen_guest_handle(s.u.getdomaininfolist.buffer, (void *)UNMAPPED);
    CHECK(hypercall1(__HYPERVISOR_sysctl, &s) == -XEN_EFAULT, "getdomaininfolist into an unmapped buffer -> -EFAULT");
    s.cmd = 99;
    CHECK(hypercall1(__HYPERVISOR_sysctl, &s) == -XEN_ENOSYS, "sysctl unknown cmd -> -ENOSYS");
}

static void test_nestor_op(void)
{
    struct nestor_exit_stats *st = (void *)buf;
    memset(st, 0, sizeof(*st));
    st->domid = DOMID_SELF;
    CHECK(hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, st) == 0 &&
          st->nr_reasons == NESTOR_NR_EXIT_REASONS && st->domid == rt_boot.domid,
          "get_exit_stats(self)");
    uint64_t cpuid_before = st->reason[10].count, vmcall_before = st->reason[18].count;
    uint32_t r[4];
    for (int i = 0; i < 7; i++)
        cpuid(0, 0, r);
    st->domid = DOMID_SELF;
    hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, st);
    CHECK(st->reason[10].count == cpuid_before + 7, "7 CPUIDs counted as 7 CPUID exits (%lu -> %lu)",
          cpuid_before, st->reason[10].count);
    CHECK(st->reason[18].count == vmcall_before + 1, "the stats hypercall itself counted as a VMCALL exit");
    CHECK(st->reason[10].cycles > 0 && st->total_cycles >= st->reason[10].cycles, "cycles accounted per reason");
    st->domid = DOMID_SELF;
    st->vcpu = 5;
    CHECK(hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, st) == -XEN_EINVAL, "stats of vCPU 5 -> -EINVAL");
    CHECK(hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, UNMAPPED) == -XEN_EFAULT, "stats to an unmapped pointer -> -EFAULT");
    CHECK(hypercall2(__HYPERVISOR_nestor_op, 0, st) == -XEN_ENOSYS, "nestor_op unknown cmd -> -ENOSYS");
}

static volatile long user_result;
static void user_fn(void *arg)
{
    user_result = hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
}
static void user_console(void *arg)
{
    static const char m[] = "from user mode\n";
    user_result = hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(m) - 1, m);
}

static void test_cpl3(void)
{
    user_result = 1;
    rt_run_user(user_fn, NULL);
    CHECK(user_result == -XEN_EPERM, "xen_version from CPL 3 -> -EPERM (got %ld)", user_result);
    user_result = 1;
    rt_run_user(user_console, NULL);
    CHECK(user_result == -XEN_EPERM, "console_io from CPL 3 -> -EPERM (got %ld)", user_result);
}

static uint8_t hc_page[4096] __attribute__((aligned(4096)));

static void test_hypercall_page(void)
{
    CHECK(wrmsr_safe(NESTOR_HYPERCALL_MSR, (uint64_t)(uintptr_t)hc_page) == -1, "hypercall page MSR accepts a RAM page");
    long (*xen_version)(unsigned, void *) = (void *)(hc_page + 32 * __HYPERVISOR_xen_version);
    CHECK(xen_version(XENVER_version, 0) == ((4 << 16) | 17), "xen_version through the hypercall page");
    CHECK(wrmsr_safe(NESTOR_HYPERCALL_MSR, beyond_ram()) == 13, "hypercall page beyond RAM -> #GP");
    CHECK(wrmsr_safe(NESTOR_HYPERCALL_MSR, (uint64_t)(uintptr_t)hc_page | 1) == 13, "hypercall page index 1 -> #GP");
    uint32_t r[4];
    cpuid(0x40000002, 0, r);
    CHECK(r[0] == 1 && r[1] == NESTOR_HYPERCALL_MSR, "CPUID 0x40000002: 1 page, MSR %#x", r[1]);
}

void test_main(void)
{
    priv = rt_boot.flags & NESTOR_DOMF_PRIVILEGED;
    rt_printf("hypercall tests as %s (domain %u)\n", priv ? "dom0" : "domU", rt_boot.domid);
    test_unknown_numbers();
    test_xen_version();
    test_console_io();
    test_sched_op();
    test_memory_op();
    test_domctl();
    test_sysctl();
    test_nestor_op();
    test_cpl3();
    test_hypercall_page();
}

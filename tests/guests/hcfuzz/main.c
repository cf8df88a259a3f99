/*
 * hcfuzz: random hypercalls with random arguments (iterations=N, default
 * 100000; seed=S).  Numbers are drawn mostly from the implemented ones,
 * sub-commands and arguments from mixes of small values, boundary values,
 * pointers to a scratch buffer (contents randomized), pointers beyond RAM,
 * unmapped and non-canonical pointers.  Calls that would legitimately end
 * or block this domain (shutdown, remote shutdown, block) are steered to
 * other sub-commands.  Every result must be 0, a positive value from a
 * query, or a negative Xen errno; the hv must survive and this domain finish.
 */
#include "rt.h"
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <nestor/abi.h>
#include <xen/errno.h>


static uint8_t scratch[3 * 4096] __attribute__((aligned(4096)));

static uint64_t rnd_arg(void)
{
    switch (rt_rand() % 10) {
    case 0: return rt_rand() % 16;
    case 1: return rt_rand() % 0x10000;
    case 2: return (uint64_t)(uintptr_t)scratch + rt_rand() % (sizeof(scratch) - 2048);
    case 3: return (uint64_t)(uintptr_t)scratch + rt_rand() % 64;
    case 4: return rt_boot.mem_bytes + rt_rand() % 0x100000;     /* beyond RAM */
    case 5: return 0x7f0000000000ull + (rt_rand() & 0xffffff);     /* unmapped */
    case 6: return 0x8000000000000000ull | rt_rand();              /* non-canonical */
    case 7: return ~0ull - rt_rand() % 16;
    case 8: return 0x7ff0;                                      /* DOMID_SELF */
    default: return rt_rand();
    }
}


static const uint64_t implemented[] = { 12, 17, 18, 29, 35, 36, 54 };

void test_main(void)
{
    uint64_t iterations = rt_arg_u64("iterations", 100000);
    rt_srand(rt_arg_u64("seed", 0x9e3779b97f4a7c15ull));
    uint64_t ok = 0, errors = 0, bad = 0, hist[64] = { 0 };
    rt_protect_self();

    for (uint64_t i = 0; i < iterations; i++) {
        uint64_t nr = rt_rand() % 4 ? implemented[rt_rand() % ARRAY_SIZE(implemented)] : rt_rand() % 70;
        uint64_t a1 = rt_rand() % 3 ? rt_rand() % 16 : rnd_arg();
        uint64_t a2 = rnd_arg(), a3 = rnd_arg(), a4 = rnd_arg(), a5 = rnd_arg();
        /* Randomize the scratch buffer so structure fields vary too. */
        if (rt_rand() % 8 == 0)
            for (unsigned j = 0; j < 64; j++)
                ((uint64_t *)scratch)[rt_rand() % (sizeof(scratch) / 8)] = rnd_arg();
        if (nr == __HYPERVISOR_sched_op && (a1 == SCHEDOP_shutdown || a1 == SCHEDOP_block ||
                                            a1 == SCHEDOP_remote_shutdown))
            a1 = SCHEDOP_yield + 100;
        if (nr == __HYPERVISOR_console_io && a1 == 0)
            a2 %= 64;           /* keep the log readable */
        /* Half the domctl/sysctl calls get a valid header, so the fuzzer
         * reaches past the interface-version check into the commands. */
        if ((nr == __HYPERVISOR_domctl || nr == __HYPERVISOR_sysctl) && rt_rand() % 2) {
            struct xen_domctl *d = (void *)scratch;
            d->cmd = (uint32_t)(rt_rand() % 12);
            d->interface_version = nr == __HYPERVISOR_domctl ? XEN_DOMCTL_INTERFACE_VERSION
                                                             : XEN_SYSCTL_INTERFACE_VERSION;
            d->domain = (domid_t)(rt_rand() % 3 ? rt_rand() % 8 : rnd_arg());
            a1 = (uint64_t)(uintptr_t)d;
        }
        /* nestor_op: dirty-tracking commands with structured arguments.
         * Rings go to scratch pages, beyond RAM or unaligned places: a ring
         * in our own code would be the fuzzer harming itself. */
        if (nr == __HYPERVISOR_nestor_op && rt_rand() % 2) {
            a1 = 0x100 + rt_rand() % 8;
            if (a1 == NESTOR_OP_track_register) {
                struct nestor_track_register *t = (void *)(scratch + 4096);
                uint64_t choice = rt_rand() % 4;
                t->ring_gpa = choice == 0 ? (uint64_t)(uintptr_t)scratch + 8192 :
                              choice == 1 ? rt_boot.mem_bytes + (rt_rand() % 16) * 4096 :
                              choice == 2 ? (uint64_t)(uintptr_t)scratch + 8192 + rt_rand() % 4096 : rnd_arg();
                if (choice == 3 && t->ring_gpa < rt_boot.mem_bytes)
                    t->ring_gpa = rt_boot.mem_bytes;
                t->ring_pages = (uint32_t)(rt_rand() % 3 ? 1 : rt_rand());
                t->vector = (uint8_t)rt_rand();
                a2 = (uint64_t)(uintptr_t)t;
            } else if (a1 == NESTOR_OP_track_clear) {
                struct nestor_track_clear *c = (void *)(scratch + 4096);
                c->id = (uint32_t)(rt_rand() % 20);
                c->nr = (uint32_t)(rt_rand() % 3 ? rt_rand() % 8 : rt_rand());
                c->gfns = rt_rand() % 2 ? (uint64_t)(uintptr_t)scratch : rnd_arg();
                a2 = (uint64_t)(uintptr_t)c;
            } else {
                a2 = rt_rand() % 20;
            }
        }
        long r = hypercall5(nr, a1, a2, a3, a4, a5);
        if (r >= 0)
            ok++;
        else if (r >= -133) {
            errors++;
            hist[-r % 64]++;
        } else {
            bad++;
            if (bad <= 5)
                rt_printf("odd result %ld from hypercall %lu(%#lx, %#lx, %#lx)\n", r, nr, a1, a2, a3);
        }
    }
    rt_printf("%lu hypercalls: %lu succeeded, %lu errno results, %lu odd\n", iterations, ok, errors, bad);
    rt_printf("errno histogram: EPERM %lu ESRCH %lu EFAULT %lu EACCES %lu EINVAL %lu ENOSYS %lu\n",
              hist[XEN_EPERM], hist[XEN_ESRCH], hist[XEN_EFAULT], hist[XEN_EACCES], hist[XEN_EINVAL],
              hist[XEN_ENOSYS]);
    CHECK(ok + errors + bad == iterations, "all %lu hypercalls returned", iterations);
    CHECK(bad == 0, "every failure is a Xen errno (odd results: %lu)", bad);
    CHECK(errors > 0 && ok > 0, "both successes and failures were exercised");
    bool priv = rt_boot.flags & 1;
    /* dom0 may name any domain (so it meets ESRCH); a domU meets EPERM. */
    CHECK(hist[XEN_EFAULT] && hist[XEN_ENOSYS] && hist[XEN_EINVAL] &&
          (priv ? hist[XEN_ESRCH] : hist[XEN_EPERM]), "EFAULT, ENOSYS, EINVAL and %s paths all reached",
          priv ? "ESRCH" : "EPERM");
    /* As dom0 the fuzzer may have paused its peers: release them all. */
    for (unsigned dom = 1; priv && dom < 16; dom++) {
        struct xen_domctl d;
        memset(&d, 0, sizeof(d));
        d.cmd = XEN_DOMCTL_unpausedomain;
        d.interface_version = XEN_DOMCTL_INTERFACE_VERSION;
        d.domain = (domid_t)dom;
        while (hypercall1(__HYPERVISOR_domctl, &d) == 0)
            ;
    }
}

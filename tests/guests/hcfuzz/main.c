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

static uint64_t state;
static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static uint8_t scratch[3 * 4096] __attribute__((aligned(4096)));

static uint64_t rnd_arg(void)
{
    switch (rnd() % 10) {
    case 0: return rnd() % 16;
    case 1: return rnd() % 0x10000;
    case 2: return (uint64_t)(uintptr_t)scratch + rnd() % (sizeof(scratch) - 2048);
    case 3: return (uint64_t)(uintptr_t)scratch + rnd() % 64;
    case 4: return rt_boot.mem_bytes + rnd() % 0x100000;     /* beyond RAM */
    case 5: return 0x7f0000000000ull + (rnd() & 0xffffff);     /* unmapped */
    case 6: return 0x8000000000000000ull | rnd();              /* non-canonical */
    case 7: return ~0ull - rnd() % 16;
    case 8: return 0x7ff0;                                      /* DOMID_SELF */
    default: return rnd();
    }
}

/* Own page tables: the low 64 KiB (boot structures, old page tables) not
 * present and our code read-only, so a random pointer that a hypercall
 * writes through gets -EFAULT instead of corrupting this guest. */
extern char rt_image_start[], rt_ro_end[];
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt0[512] __attribute__((aligned(4096)));

static void protect_self(void)
{
    uint64_t text_end = (uint64_t)(uintptr_t)rt_ro_end;
    pml4[0] = (uint64_t)(uintptr_t)pdpt | 3;
    for (unsigned i = 0; i < 4; i++) {
        pdpt[i] = (uint64_t)(uintptr_t)pd[i] | 3;
        for (unsigned j = 0; j < 512; j++)
            pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | 0x83;
    }
    pd[0][0] = (uint64_t)(uintptr_t)pt0 | 3;
    for (uint64_t p = 0; p < 512; p++) {
        uint64_t a = p << 12;
        pt0[p] = a < 0x10000 ? 0 : (a >= (uint64_t)(uintptr_t)rt_image_start && a < text_end) ? a | 1 : a | 3;
    }
    __asm__ volatile("mov %0, %%cr3" :: "r"(pml4) : "memory");
}

static const uint64_t implemented[] = { 12, 17, 18, 29, 35, 36, 54 };

void test_main(void)
{
    uint64_t iterations = rt_arg_u64("iterations", 100000);
    state = rt_arg_u64("seed", 0x9e3779b97f4a7c15ull) | 1;
    uint64_t ok = 0, errors = 0, bad = 0, hist[64] = { 0 };
    protect_self();

    for (uint64_t i = 0; i < iterations; i++) {
        uint64_t nr = rnd() % 4 ? implemented[rnd() % ARRAY_SIZE(implemented)] : rnd() % 70;
        uint64_t a1 = rnd() % 3 ? rnd() % 16 : rnd_arg();
        uint64_t a2 = rnd_arg(), a3 = rnd_arg(), a4 = rnd_arg(), a5 = rnd_arg();
        /* Randomize the scratch buffer so structure fields vary too. */
        if (rnd() % 8 == 0)
            for (unsigned j = 0; j < 64; j++)
                ((uint64_t *)scratch)[rnd() % (sizeof(scratch) / 8)] = rnd_arg();
        if (nr == __HYPERVISOR_sched_op && (a1 == SCHEDOP_shutdown || a1 == SCHEDOP_block ||
                                            a1 == SCHEDOP_remote_shutdown))
            a1 = SCHEDOP_yield + 100;
        if (nr == __HYPERVISOR_console_io && a1 == 0)
            a2 %= 64;           /* keep the log readable */
        /* Half the domctl/sysctl calls get a valid header, so the fuzzer
         * reaches past the interface-version check into the commands. */
        if ((nr == __HYPERVISOR_domctl || nr == __HYPERVISOR_sysctl) && rnd() % 2) {
            struct xen_domctl *d = (void *)scratch;
            d->cmd = (uint32_t)(rnd() % 12);
            d->interface_version = nr == __HYPERVISOR_domctl ? XEN_DOMCTL_INTERFACE_VERSION
                                                             : XEN_SYSCTL_INTERFACE_VERSION;
            d->domain = (domid_t)(rnd() % 3 ? rnd() % 8 : rnd_arg());
            a1 = (uint64_t)(uintptr_t)d;
        }
        /* nestor_op: dirty-tracking commands with structured arguments.
         * Rings go to scratch pages, beyond RAM or unaligned places: a ring
         * in our own code would be the fuzzer harming itself. */
        if (nr == __HYPERVISOR_nestor_op && rnd() % 2) {
            a1 = 0x100 + rnd() % 8;
            if (a1 == NESTOR_OP_track_register) {
                struct nestor_track_register *t = (void *)(scratch + 4096);
                uint64_t choice = rnd() % 4;
                t->ring_gpa = choice == 0 ? (uint64_t)(uintptr_t)scratch + 8192 :
                              choice == 1 ? rt_boot.mem_bytes + (rnd() % 16) * 4096 :
                              choice == 2 ? (uint64_t)(uintptr_t)scratch + 8192 + rnd() % 4096 : rnd_arg();
                if (choice == 3 && t->ring_gpa < rt_boot.mem_bytes)
                    t->ring_gpa = rt_boot.mem_bytes;
                t->ring_pages = (uint32_t)(rnd() % 3 ? 1 : rnd());
                t->vector = (uint8_t)rnd();
                a2 = (uint64_t)(uintptr_t)t;
            } else if (a1 == NESTOR_OP_track_clear) {
                struct nestor_track_clear *c = (void *)(scratch + 4096);
                c->id = (uint32_t)(rnd() % 20);
                c->nr = (uint32_t)(rnd() % 3 ? rnd() % 8 : rnd());
                c->gfns = rnd() % 2 ? (uint64_t)(uintptr_t)scratch : rnd_arg();
                a2 = (uint64_t)(uintptr_t)c;
            } else {
                a2 = rnd() % 20;
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

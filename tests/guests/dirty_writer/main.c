/*
 * dirty_writer: writes the dirty_pattern.h rounds into its RAM.  After each
 * round it executes exactly one CPUID (a marker the tracking dom0 reads from
 * this domain's exit statistics) and yields; it touches no other memory
 * above DIRTY_BASE.  Without `track`, some pattern pages are written only
 * by the hypervisor (a hypercall result), which log-dirty must see too.  With wset=MiB it instead rewrites a working set of that
 * size, fraction=N/1000 of its pages per round, and reports its own write
 * time per round (the dirty-tracking benchmark).
 */
#include "rt.h"
#include "../dirty_pattern.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/version.h>

static void yield(void) { hypercall2(__HYPERVISOR_sched_op, SCHEDOP_yield, 0); }

static void marker(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
}

/* With `track`, each round also runs inside this domain's own tracking
 * context, whose ring must hold exactly the round's pages: guest tracking
 * and dom0's log-dirty share the EPT dirty flags and neither may lose. */
static uint8_t ring[64 * 4096] __attribute__((aligned(4096)));
static uint8_t seen[8192];
static uint32_t ctx;

static long track(unsigned cmd, uint64_t arg) { return hypercall2(__HYPERVISOR_nestor_op, cmd, arg); }

static void check_ring(unsigned r, uint64_t from, uint64_t npages)
{
    struct nestor_track_ring *h = (void *)ring;
    const uint64_t *e = (const uint64_t *)(ring + NESTOR_TRACK_HEADER);
    uint64_t extra = 0, missed = 0, dup = 0;
    memset(seen, 0, sizeof(seen));
    for (uint64_t i = from; i < h->producer; i++) {
        uint64_t gpa = e[i % h->size];
        if (gpa < DIRTY_BASE || gpa >= DIRTY_BASE + npages * 4096)
            continue;                   /* stack, ring and data pages */
        uint64_t p = (gpa - DIRTY_BASE) / 4096;
        dup += seen[p]++ > 0;
        extra += !dirty_round_page(r, p, npages);
    }
    for (uint64_t p = 0; p < npages; p++)
        missed += dirty_round_page(r, p, npages) && !seen[p];
    CHECK(!extra && !missed && !dup && h->overflow == 0,
          "own tracking context, round %u: %lu missed, %lu extra, %lu duplicates", r, missed, extra, dup);
    h->consumer = h->producer;
}

static void pattern_rounds(void)
{
    uint64_t npages = (rt_boot.mem_bytes - DIRTY_BASE) / 4096;
    bool tracked = rt_arg_flag("track");
    /* With `spp`, every page of the region is SPP-protected with only its
     * last sub-page (offsets 3968-4095, never written here) stopped: each
     * pattern write is a permitted sub-page write with no VM exit of its
     * own, and dom0's log-dirty must still see all of them. */
    if (rt_arg_flag("spp")) {
        struct nestor_spp_range rg = { .gfn = DIRTY_BASE / 4096, .nr_pages = npages, .vector = 0x7fffffffu };
        long rc = hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_spp_set_range, (uint64_t)(uintptr_t)&rg);
        CHECK(rc == 0, "SPP protects the %lu region pages (rc %ld)", npages, rc);
    }
    if (tracked) {
        struct nestor_track_register reg = { .ring_gpa = (uint64_t)(uintptr_t)ring, .ring_pages = 64 };
        long rc = track(NESTOR_OP_track_register, (uint64_t)(uintptr_t)&reg);
        ctx = reg.id;
        CHECK(rc == 0, "registered a tracking context");
    }
    for (unsigned r = 0; r < DIRTY_ROUNDS; r++) {
        uint64_t from = ((struct nestor_track_ring *)ring)->producer;
        if (tracked)
            track(NESTOR_OP_track_enable, ctx);
        for (uint64_t p = 0; p < npages; p++) {
            if (!dirty_round_page(r, p, npages))
                continue;
            volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)(DIRTY_BASE + p * 4096);
            if (!tracked && p % 11 == 5) {
                /* Only the hypervisor writes this page (a hypercall's
                 * result): log-dirty must see that write too. */
                hypercall2(__HYPERVISOR_xen_version, XENVER_extraversion, (uint64_t)(uintptr_t)(q + 16));
                continue;
            }
            for (unsigned t = dirty_times(r, p); t; t--)
                q[(t * 8) % 512] = p ^ ((uint64_t)r << 56) ^ t;
        }
        if (tracked) {
            track(NESTOR_OP_track_flush, 0);
            track(NESTOR_OP_track_disable, 0);
            check_ring(r, from, npages);
        }
        marker();
        yield();
    }
    CHECK(true, "wrote %u rounds over %lu pages", DIRTY_ROUNDS, npages);
}

/* Benchmark: each round rewrites `fraction` per mille of the working set's
 * pages, every 8-byte word of each (as a program rewriting its data would),
 * so the cost of dirty tracking is measured against real memory traffic. */
static void working_set(uint64_t mib)
{
    uint64_t pages = (mib << 20) / 4096, fraction = rt_arg_u64("fraction", 1000);
    uint64_t rounds = rt_arg_u64("rounds", 4);
    if (!CHECK(DIRTY_BASE + (mib << 20) <= rt_boot.mem_bytes, "working set of %lu MiB fits", mib))
        return;
    uint64_t total = 0;
    for (uint64_t r = 0; r < rounds; r++) {
        uint64_t t0 = rdtsc();
        for (uint64_t p = 0; p < pages; p++) {
            if ((dirty_hash(p + r * 7919) % 1000) >= fraction)
                continue;
            volatile uint64_t *q = (volatile uint64_t *)(uintptr_t)(DIRTY_BASE + p * 4096);
            for (unsigned w = 0; w < 512; w++)
                q[w] = p + r + w;
        }
        uint64_t t = rdtsc() - t0;
        total += t;
        rt_printf("BENCH round=%lu cycles=%lu\n", r, t);
        marker();
        yield();
    }
    rt_printf("BENCH write_cycles=%lu rounds=%lu fraction=%lu wset_mib=%lu\n", total, rounds, fraction, mib);
}

void test_main(void)
{
    uint64_t wset = rt_arg_u64("wset", 0);
    if (wset)
        working_set(wset);
    else
        pattern_rounds();
}

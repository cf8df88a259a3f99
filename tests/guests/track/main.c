/*
 * track: dirty-tracking contexts for guest kernels (nestor_op 0x100-0x1ff).
 * Exact page sets across enable/disable windows and context switches, clear
 * of given pages and of all, ring wrap-around, overflow with the interrupt
 * and the drop count, and every error.  args=bench prints
 * "BENCH track_enable_disable_cycles=N" and "BENCH track_drain_cycles_per_entry=N".
 */
#include "rt.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/errno.h>

#define REGION     (8ull << 20)     /* pages written by the test live here */
#define XEN_E2BIG  7
#define XEN_ENOSPC 28

static uint8_t rings[8][4 * 4096] __attribute__((aligned(4096)));
static volatile unsigned irq_count;

static long op(unsigned cmd, uint64_t arg) { return hypercall2(__HYPERVISOR_nestor_op, cmd, arg); }

static long reg(void *ring, uint32_t pages, uint8_t vector, uint32_t *id)
{
    struct nestor_track_register r = { .ring_gpa = (uint64_t)(uintptr_t)ring, .ring_pages = pages, .vector = vector };
    long rc = op(NESTOR_OP_track_register, (uint64_t)(uintptr_t)&r);
    if (id)
        *id = r.id;
    return rc;
}

static void touch(uint64_t page) { *(volatile uint64_t *)(uintptr_t)(REGION + page * 4096) += 1; }

/* Ring contents in [from, producer) that fall in the test region, as a
 * bitmap of region pages; returns how many. */
static unsigned collect(void *ring, uint64_t from, uint8_t *seen, unsigned npages)
{
    struct nestor_track_ring *h = ring;
    const uint64_t *e = (const uint64_t *)((uint8_t *)ring + NESTOR_TRACK_HEADER);
    unsigned n = 0;
    memset(seen, 0, npages);
    for (uint64_t i = from; i < h->producer; i++) {
        uint64_t gpa = e[i % h->size];
        if (gpa >= REGION && gpa < REGION + npages * 4096ull) {
            seen[(gpa - REGION) / 4096]++;
            n++;
        }
    }
    return n;
}

/* The ring since `from` holds exactly the region pages in want[] (each once). */
static bool exactly(void *ring, uint64_t from, const uint64_t *want, unsigned nwant, const char *what)
{
    static uint8_t seen[1024];
    unsigned n = collect(ring, from, seen, 1024);
    bool ok = n == nwant;
    for (unsigned i = 0; i < nwant; i++)
        ok &= seen[want[i]] == 1;
    return CHECK(ok, "%s: %u region entries, expected exactly %u pages", what, n, nwant);
}

static uint64_t prod(void *ring) { return ((struct nestor_track_ring *)ring)->producer; }

static void test_errors(void)
{
    uint32_t id = 0;
    CHECK(op(NESTOR_OP_track_enable, 0) == -XEN_EINVAL, "enable with nothing registered -> -EINVAL");
    CHECK(reg((uint8_t *)rings[0] + 8, 1, 0, NULL) == -XEN_EINVAL, "unaligned ring -> -EINVAL");
    CHECK(reg((void *)(uintptr_t)(rt_boot.mem_bytes - 4096), 2, 0, NULL) == -XEN_EINVAL, "ring crossing the end of RAM -> -EINVAL");
    CHECK(reg((void *)(uintptr_t)0xfee00000, 1, 0, NULL) == -XEN_EINVAL, "ring on MMIO/beyond RAM -> -EINVAL");
    CHECK(reg(rings[0], 0, 0, NULL) == -XEN_EINVAL, "0-page ring -> -EINVAL");
    CHECK(reg(rings[0], 65, 0, NULL) == -XEN_EINVAL, "65-page ring -> -EINVAL");
    CHECK(reg(rings[0], 1, 5, NULL) == -XEN_EINVAL, "exception vector 5 -> -EINVAL");
    CHECK(op(NESTOR_OP_track_register, 0x7f0000000000ull) == -XEN_EFAULT, "unmapped argument -> -EFAULT");
    long r = reg(rings[7], 1, 0, &id);
    CHECK(r == 0, "register a context (id %u)", id);
    CHECK(reg(rings[7], 1, 0, NULL) == -XEN_EINVAL, "a second ring on the same memory -> -EINVAL");
    CHECK(op(NESTOR_OP_track_enable, 99) == -XEN_EINVAL, "enable of context 99 -> -EINVAL");
    struct nestor_track_clear cl = { .id = id, .nr = 5000, .gfns = (uint64_t)(uintptr_t)rings[6] };
    CHECK(op(NESTOR_OP_track_clear, (uint64_t)(uintptr_t)&cl) == -XEN_E2BIG, "clear of 5000 pages -> -E2BIG");
    static uint64_t far_gfn = 1ull << 40;
    cl.nr = 1;
    cl.gfns = (uint64_t)(uintptr_t)&far_gfn;
    CHECK(op(NESTOR_OP_track_clear, (uint64_t)(uintptr_t)&cl) == -XEN_EINVAL, "clear of a gfn beyond RAM -> -EINVAL");
    CHECK(op(0x1ff, 0) == -XEN_ENOSYS, "unknown tracking command -> -ENOSYS");
    unsigned extra = 0;
    static uint8_t many[16][4096] __attribute__((aligned(4096)));
    long rc = 0;
    for (unsigned i = 0; i < 16 && rc == 0; i++, extra++)
        rc = reg(many[i], 1, 0, NULL);
    CHECK(rc == -XEN_ENOSPC, "context %u of %u -> -ENOSPC", extra, NESTOR_TRACK_MAX_CONTEXTS);
    for (unsigned i = 0; i < NESTOR_TRACK_MAX_CONTEXTS; i++)
        op(NESTOR_OP_track_unregister, i);
    CHECK(op(NESTOR_OP_track_unregister, id) == -XEN_EINVAL, "unregister twice -> -EINVAL");
}

static void test_windows(void)
{
    uint32_t c1 = 0, c2 = 0;
    static const uint64_t A[] = { 0, 1, 7, 100, 511, 512, 600, 1000 };
    static const uint64_t B[] = { 3, 4, 5 };
    static const uint64_t C[] = { 200, 201, 900 };
    CHECK(reg(rings[0], 4, 0, &c1) == 0 && reg(rings[1], 4, 0, &c2) == 0, "two contexts");
    CHECK(op(NESTOR_OP_track_enable, c1) == 0, "enable context %u", c1);
    uint64_t p0 = prod(rings[0]);
    for (unsigned i = 0; i < 8; i++)
        touch(A[i]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, A, 8, "window 1 reports the 8 pages written");
    p0 = prod(rings[0]);
    for (unsigned i = 0; i < 8; i++)
        touch(A[i]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, A, 0, "rewriting them in the same window reports nothing");
    static uint64_t two[2];
    two[0] = REGION / 4096 + A[0];
    two[1] = REGION / 4096 + A[1];
    struct nestor_track_clear cl = { .id = c1, .nr = 2, .gfns = (uint64_t)(uintptr_t)two };
    CHECK(op(NESTOR_OP_track_clear, (uint64_t)(uintptr_t)&cl) == 0, "clear 2 pages");
    p0 = prod(rings[0]);
    for (unsigned i = 0; i < 8; i++)
        touch(A[i]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, A, 2, "after clearing 2 pages only they are reported again");

    CHECK(op(NESTOR_OP_track_disable, 0) == 0, "disable");
    for (unsigned i = 0; i < 3; i++)
        touch(B[i]);                    /* outside any window */
    p0 = prod(rings[0]);
    CHECK(op(NESTOR_OP_track_enable, c1) == 0, "enable again");
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, B, 0, "writes made while disabled are not reported");
    for (unsigned i = 0; i < 3; i++)
        touch(C[i]);
    for (unsigned i = 0; i < 3; i++)
        touch(B[i]);
    op(NESTOR_OP_track_flush, 0);
    static const uint64_t BC[] = { 3, 4, 5, 200, 201, 900 };
    exactly(rings[0], p0, BC, 6, "a new window reports its own writes, including pages dirtied while disabled");
    p0 = prod(rings[0]);
    for (unsigned i = 0; i < 8; i++)
        touch(A[i]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, A, 8, "pages of an earlier window are reported again in a new one");

    cl.nr = 0;
    CHECK(op(NESTOR_OP_track_clear, (uint64_t)(uintptr_t)&cl) == 0, "clear all");
    p0 = prod(rings[0]);
    for (unsigned i = 0; i < 3; i++)
        touch(C[i]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[0], p0, C, 3, "after clear-all, pages are reported again");

    /* Switching contexts: a page shared by two processes is reported to each. */
    uint64_t q0 = prod(rings[1]);
    p0 = prod(rings[0]);
    CHECK(op(NESTOR_OP_track_enable, c2) == 0, "switch to context %u", c2);
    touch(A[3]);
    CHECK(op(NESTOR_OP_track_enable, c1) == 0, "switch back to context %u", c1);
    touch(A[3]);
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[1], q0, &A[3], 1, "context 2 saw the shared page in its window");
    exactly(rings[0], p0, &A[3], 1, "context 1 saw it again in its own window");
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_unregister, c1);
    op(NESTOR_OP_track_unregister, c2);
}

static void on_full(unsigned vector) { irq_count++; }

static void test_wrap_and_overflow(void)
{
    uint32_t c = 0;
    struct nestor_track_ring *h = (void *)rings[2];
    long r = reg(rings[2], 1, 0x40, &c);
    CHECK(r == 0 && h->magic == NESTOR_TRACK_MAGIC && h->size == 504,
          "one-page ring holds %u entries", h->size);
    rt_set_irq_handler(0x40, on_full);
    op(NESTOR_OP_track_enable, c);
    op(NESTOR_OP_track_flush, 0);
    h->consumer = h->producer;
    uint64_t p0 = h->producer;
    static uint64_t first[300], second[300];
    for (unsigned i = 0; i < 300; i++) {
        first[i] = i;
        touch(i);
    }
    op(NESTOR_OP_track_flush, 0);
    exactly(rings[2], p0, first, 300, "300 entries");
    h->consumer = h->producer;          /* consume them */
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_enable, c);
    op(NESTOR_OP_track_flush, 0);
    h->consumer = h->producer;
    p0 = h->producer;
    for (unsigned i = 0; i < 300; i++) {
        second[i] = 300 + i;
        touch(300 + i);
    }
    op(NESTOR_OP_track_flush, 0);
    CHECK(h->producer - p0 >= 300 && (h->producer % 504) < (p0 % 504), "the ring wrapped (producer %lu)", h->producer);
    exactly(rings[2], p0, second, 300, "300 more entries across the wrap");
    CHECK(h->overflow == 0 && irq_count == 0, "no overflow while consumed (overflow %lu, interrupts %u)",
          h->overflow, irq_count);

    /* Now 600 new pages without consuming: 504 fit, the rest are counted. */
    h->consumer = h->producer;
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_enable, c);
    op(NESTOR_OP_track_flush, 0);
    h->consumer = h->producer;
    uint64_t before = h->producer, dropped0 = h->overflow;
    rt_sti();
    for (unsigned i = 0; i < 600; i++)
        touch(i);
    op(NESTOR_OP_track_flush, 0);
    rt_cli();
    uint64_t stored = h->producer - before, dropped = h->overflow - dropped0;
    CHECK(stored == 504, "ring filled with 504 entries (got %lu)", stored);
    CHECK(stored + dropped >= 600 && dropped >= 96, "%lu entries dropped and counted, none lost silently", dropped);
    CHECK(irq_count == 1, "ring-full vector 0x40 raised once (%u)", irq_count);
    h->consumer = h->producer;
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_enable, c);
    op(NESTOR_OP_track_flush, 0);
    h->consumer = h->producer;
    before = h->producer;
    dropped0 = h->overflow;
    for (unsigned i = 0; i < 10; i++)
        touch(700 + i);
    op(NESTOR_OP_track_flush, 0);
    CHECK(h->producer - before >= 10 && h->overflow == dropped0, "room again after consuming: nothing dropped");
    /* A guest that corrupts its header loses only its own entries. */
    h->size = 7;
    h->consumer = h->producer + 12345;
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_enable, c);
    touch(5);
    CHECK(op(NESTOR_OP_track_flush, 0) == 0, "a bogus consumer makes the ring look full, nothing is written");
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_unregister, c);
}

static void bench(void)
{
    uint32_t c = 0;
    uint64_t n = rt_arg_u64("iterations", 1000);
    struct nestor_track_ring *h = (void *)rings[3];
    reg(rings[3], 4, 0, &c);
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        op(NESTOR_OP_track_enable, c);
        op(NESTOR_OP_track_disable, 0);
    }
    uint64_t t1 = rdtsc();
    rt_printf("BENCH track_enable_disable_cycles=%lu\n", (t1 - t0) / n);
    unsigned pages = 256;
    op(NESTOR_OP_track_enable, c);
    op(NESTOR_OP_track_flush, 0);
    h->consumer = h->producer;
    for (unsigned i = 0; i < pages; i++)
        touch(i);
    uint64_t t2 = rdtsc();
    long got = op(NESTOR_OP_track_flush, 0);
    uint64_t t3 = rdtsc();
    op(NESTOR_OP_track_flush, 0);
    uint64_t t4 = rdtsc();
    CHECK(got >= (long)pages, "drained %ld entries", got);
    /* Subtract the cost of a flush that drains nothing (t3..t4). */
    uint64_t full = t3 - t2, empty = t4 - t3;
    rt_printf("BENCH track_flush_empty_cycles=%lu\n", empty);
    rt_printf("BENCH track_drain_cycles_per_entry=%lu\n", full > empty ? (full - empty) / (uint64_t)got : 0);
    op(NESTOR_OP_track_disable, 0);
    op(NESTOR_OP_track_unregister, c);
}

void test_main(void)
{
    if (!CHECK(rt_boot.mem_bytes >= REGION + (4ull << 20), "RAM for the test region"))
        return;
    if (rt_arg_flag("bench")) {
        bench();
        return;
    }
    if (rt_arg_flag("leave")) {
        /* End with contexts registered and one enabled: the hv must free
         * everything with the domain. */
        uint32_t c = 0;
        for (unsigned i = 0; i < 3; i++)
            reg(rings[i], 4, 0x40, &c);
        op(NESTOR_OP_track_enable, c);
        for (unsigned i = 0; i < 100; i++)
            touch(i);
        CHECK(op(NESTOR_OP_track_flush, 0) >= 100, "logged before leaving");
        return;
    }
    test_errors();
    test_windows();
    test_wrap_and_overflow();
}

/*
 * bench_l0: cost of a CPUID exit round trip and of a null hypercall
 * (xen_version(XENVER_version)), in emulated TSC cycles, over N iterations
 * (iterations=N, default 10000), cross-checked with the hv's own per-reason
 * counters (nestor_op get_exit_stats).  Prints "BENCH key=value" lines for
 * bench/run_l0.py.  Not a test of speed: it only checks that the counters
 * saw exactly the exits it caused.
 */
#include "rt.h"
#include <nestor/abi.h>
#define __XEN_TOOLS__ 1
#include <xen/xen.h>
#include <xen/version.h>

#define EXIT_CPUID  10
#define EXIT_VMCALL 18

static struct nestor_exit_stats st;

static void read_stats(void)
{
    st.domid = 0x7ff0;
    st.vcpu = 0;
    hypercall2(__HYPERVISOR_nestor_op, NESTOR_OP_get_exit_stats, &st);
}

/* Emulated cycles per instruction of a plain loop, for reading the rest. */
static uint64_t loop_cycles(uint64_t n)
{
    uint64_t t0 = rdtsc();
    __asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
    return rdtsc() - t0;
}

void test_main(void)
{
    uint64_t n = rt_arg_u64("iterations", 10000);
    uint32_t r[4];

    uint64_t loop = loop_cycles(1000000);
    rt_printf("BENCH loop_2M_instructions_cycles=%lu\n", loop);

    read_stats();
    uint64_t c0 = st.reason[EXIT_CPUID].count, h0 = st.reason[EXIT_CPUID].cycles;
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        cpuid(0, 0, r);
    uint64_t t1 = rdtsc();
    read_stats();
    uint64_t c1 = st.reason[EXIT_CPUID].count, h1 = st.reason[EXIT_CPUID].cycles;
    CHECK(c1 - c0 == n, "hv counted %lu CPUID exits for %lu CPUIDs", c1 - c0, n);
    rt_printf("BENCH cpuid_roundtrip_cycles=%lu\n", (t1 - t0) / n);
    rt_printf("BENCH cpuid_exit_hv_cycles=%lu\n", (h1 - h0) / n);

    read_stats();
    uint64_t v0 = st.reason[EXIT_VMCALL].count, w0 = st.reason[EXIT_VMCALL].cycles;
    t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++)
        hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
    t1 = rdtsc();
    read_stats();
    uint64_t v1 = st.reason[EXIT_VMCALL].count, w1 = st.reason[EXIT_VMCALL].cycles;
    /* The stats hypercall before the loop is counted too. */
    CHECK(v1 - v0 == n + 1, "hv counted %lu VMCALL exits for %lu hypercalls (+1 stats call)", v1 - v0, n);
    rt_printf("BENCH null_hypercall_roundtrip_cycles=%lu\n", (t1 - t0) / n);
    rt_printf("BENCH null_hypercall_hv_cycles=%lu\n", (w1 - w0) / (n + 1));
}

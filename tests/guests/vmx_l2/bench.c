/*
 * bench: the cost of an L2 exit that L1 handles, round trip as L2 sees it.
 * L2 runs n (args n=, default 1000) CPUID, VMCALL, OUT or RDMSR in a loop
 * between two RDTSCs; L1's exit handler does the minimum (VMREAD of the
 * reason, instruction length and guest RIP, VMWRITE of the RIP, VMRESUME)
 * without leaving the exit stub's path.  Prints one line per kind:
 *   BENCH <kind> l2_roundtrip=<cycles> l1_roundtrip=<cycles> n=<n>
 * where l1_roundtrip is the same instruction executed by L1 itself (an exit
 * to L0 only; for VMCALL a null hypercall), for the amplification ratio.
 * No checks except one at the end (all loops completed).
 */
#include "l1.h"
#include <xen/xen.h>
#include <xen/version.h>

extern int (*l1_fast_hook)(void);
static uint32_t bench_reason;
static volatile uint64_t l2_cycles;
static uint64_t bench_n;

static int fast(void)
{
    uint64_t reason = vmr(F_EXIT_REASON);
    if (reason != bench_reason || (reason == R_VMCALL && l2r.rax == L2_DONE))
        return -1;
    uint64_t len = vmr(F_EXIT_INSN_LEN);
    __asm__ volatile("" ::: "memory");
    vmw(F_G_RIP, vmr(F_G_RIP) + len);
    return 0;
}

#define FILL_FIRST (4ul << 20)    /* skip the first 4 MiB of L1 (its image) */

static void l2_loop(uint64_t kind)
{
    uint64_t n = bench_n;
    uint64_t t0 = rdtsc();
    switch (kind) {
    case R_CPUID:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t a = 0, b, c = 0, d;
            __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        }
        break;
    case R_VMCALL:
        for (uint64_t i = 0; i < n; i++)
            __asm__ volatile("vmcall" :: "a"(0ul) : "memory");
        break;
    case R_IO:
        for (uint64_t i = 0; i < n; i++)
            __asm__ volatile("outb %%al, $0x80" :: "a"(0));
        break;
    case R_RDMSR:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t lo, hi;
            __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x277));   /* PAT: exits at every level */
        }
        break;
    case R_EPT_VIOLATION:
        /* First reads of pages through the 1 GiB EPT12 leaf onto L1's
         * RAM: each is an EPT02 fill, which L0 handles alone. */
        for (uint64_t i = 0; i < n; i++)
            (void)*(volatile uint8_t *)(L2_1G_GPA + FILL_FIRST + i * 4096);
        break;
    }
    l2_cycles = rdtsc() - t0;
}

static uint64_t l1_loop(uint32_t kind, uint64_t n)
{
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t r[4];
        uint64_t v;
        switch (kind) {
        case R_CPUID: cpuid(0, 0, r); break;
        case R_VMCALL: hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0); break;
        case R_IO: outb(0x80, 0); break;
        case R_RDMSR: rdmsr_safe(0x277, &v); break;
        }
    }
    return (rdtsc() - t0) / n;
}

void bench(void)
{
    static const struct { const char *name; uint32_t reason; uint32_t proc; } kinds[] = {
        { "cpuid", R_CPUID, 0 }, { "vmcall", R_VMCALL, 0 }, { "out", R_IO, PROC_UNCOND_IO }, { "rdmsr", R_RDMSR, 0 },
        { "fill", R_EPT_VIOLATION, 0 },
    };
    const unsigned nr_kinds = sizeof(kinds) / sizeof(kinds[0]);
    bench_n = rt_arg_u64("n", 1000);
    if (!bench_n)
        bench_n = 1;
    uint32_t r[4];
    cpuid(1, 0, r);
    if (!l1_init(true))
        return;
    /* The single-level loops first: once L2 has run, L0 charges L1's exits
     * to the last L2 exit until L2 runs again (exit amplification). */
    uint64_t l1_cycles[8] = { 0 };
    for (unsigned k = 0; k < nr_kinds; k++)
        if (want_test(kinds[k].name) && kinds[k].reason != R_EPT_VIOLATION)
            l1_cycles[k] = l1_loop(kinds[k].reason, bench_n);
    unsigned ok = 0;
    for (unsigned k = 0; k < nr_kinds; k++) {
        if (!want_test(kinds[k].name)) {
            ok++;
            continue;
        }
        if (!vm_setup(l2_loop, kinds[k].reason) || !set_proc(kinds[k].proc))
            continue;
        bench_reason = kinds[k].reason;
        l2_cycles = 0;
        l1_fast_hook = fast;
        struct exit_info *e = l2_run();
        l1_fast_hook = NULL;
        if (!is_done(e)) {
            rt_printf("BENCH-ERROR %s: %s\n", kinds[k].name, exit_str(e));
            continue;
        }
        /* An EPT02 fill has no single-level twin L1 could run (its EPT01
         * is complete): bench/nested.py takes one from bench/pml.py. */
        rt_printf("BENCH %s l2_roundtrip=%lu l1_roundtrip=%lu n=%lu\n", kinds[k].name, l2_cycles / bench_n,
                  l1_cycles[k], bench_n);
        ok++;
    }
    vx_vmxoff();
    CHECK(ok == nr_kinds, "bench: every loop ran to its end (%u/%u)", ok, nr_kinds);
}

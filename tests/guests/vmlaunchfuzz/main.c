/*
 * vmlaunchfuzz: a malicious-L1 test (docs/NESTED.md, "Safety"), an L1
 * hypervisor that needs nested=1 and is built on vmx_l2's core (l1.c):
 *
 *   fuzz     VMLAUNCH of vmcs12s mutated from a valid template (fuzz.c):
 *            random values in every writable field, or 1-4 random fields /
 *            bit flips; each outcome is classified and checked against the
 *            SDM (VMfailValid 7/8, entry-failure exit 33/34, or an L2 that
 *            ran and exited), L2 confined to a sandbox.
 *   eptout   EPT12 pointing outside L1's memory (ept.c): a root, PDPT, PD
 *            or PT pointer beyond RAM, 4 KiB / 2 MiB / 1 GiB leaves beyond
 *            RAM, beyond the physical-address width: L2's access is an EPT
 *            violation (or misconfiguration) exit to L1 and never completes.
 *   eptedit  L1 remaps EPT12 leaves among a pool of tagged pages while L2
 *            reads and writes them (ept.c), with and without INVEPT.
 *   ptrs     VMXON, VMCLEAR and VMPTRLD with pointers at the edges of L1's
 *            memory and the physical-address width (ptrs.c).
 *
 * Arguments: only=a,b (groups), iterations=N (default 10000), seed=N,
 * first=N (start the fuzzer at iteration N: iterations are seeded one by
 * one, so a mismatch replays with first=N iterations=1), edits=N
 * (eptedit exits, default 3000), trace (one line per fuzz iteration: its
 * number, outcome class and error / exit reason and qualification, to
 * compare runs), verbose (every iteration's mutations).
 */
#include "lf.h"

unsigned maxphy;
bool bare;
unsigned mismatches;

void mismatch(const char *fmt, ...)
{
    mismatches++;
    if (mismatches > 25)
        return;
    char buf[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rt_printf("MISMATCH %s\n", buf);
}

void test_main(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    bare = !(r[2] & (1u << 31));
    cpuid(0x80000008, 0, r);
    maxphy = r[0] & 0xff;
    rt_printf("vmlaunchfuzz: RAM %#lx, physical-address width %u%s\n", rt_boot.mem_bytes, maxphy,
              bare ? ", bare metal" : "");
    if (want_test("ptrs")) {
        rt_printf("---- ptrs (before VMXON)\n");
        t_ptrs_vmxon();
    }
    if (!l1_init(false))
        return;
    static const struct { const char *name; void (*fn)(void); } groups[] = {
        { "fuzz", fuzz_launch }, { "eptout", t_eptout }, { "eptedit", t_eptedit }, { "ptrs", t_ptrs },
    };
    for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (!want_test(groups[i].name))
            continue;
        rt_printf("---- %s\n", groups[i].name);
        unsigned m0 = mismatches;
        uint64_t t0 = rdtsc();
        groups[i].fn();
        rt_printf("---- %s: %lu Mcycles\n", groups[i].name, (rdtsc() - t0) >> 20);
        CHECK(mismatches == m0, "%s: no mismatch with the SDM (%u)", groups[i].name, mismatches - m0);
    }
    l1_off();
}

/*
 * vmx_l2: an L1 test hypervisor that runs a 64-bit L2 guest under its own
 * vmcs12 and EPT12, written against the Intel SDM Vol. 3 chapters 24-29
 * (VMCS, VMX non-root operation, VM entries, VM exits, EPT) only, so that
 * it is equally valid on hardware.  It needs nested=1 under Nestor.
 *
 * Tests (each group a series of checks whose names start with the group):
 *   cpuid vmcall hlt io msr exc cr timer intwin inject ept entry launch misc
 *   vector vpid triple two pml shadow apic, and mtf only when named in only= (see t_more.c)
 * Arguments:
 *   only=a,b,...  run only these groups
 *   bench         no checks: L2 performs n= (default 1000) CPUID, VMCALL, OUT
 *                 and RDMSR in loops, L1 handles each exit with the minimum
 *                 (read the reason and instruction length, advance RIP,
 *                 VMRESUME), and prints "BENCH <kind> l2_roundtrip=<cycles>"
 *                 (and L1's own round trip to L0 for comparison)
 */
#include "l1.h"

static const struct { const char *name; void (*fn)(void); bool opt_in; } groups[] = {
    { "cpuid", t_cpuid, false }, { "vmcall", t_vmcall, false }, { "hlt", t_hlt, false }, { "io", t_io, false },
    { "msr", t_msr, false }, { "exc", t_exc, false }, { "cr", t_cr, false }, { "timer", t_timer, false },
    { "intwin", t_intwin, false }, { "inject", t_inject, false }, { "ept", t_ept, false }, { "entry", t_entry, false },
    { "launch", t_launch, false }, { "misc", t_misc, false }, { "vector", t_vector, false }, { "vpid", t_vpid, false },
    { "triple", t_triple, false }, { "two", t_two, false }, { "pml", t_pml, false },
    { "shadow", t_shadow, false }, { "apic", t_apic, false },
    { "mtf", t_mtf, true },         /* see t_more.c: Bochs 2.7 never delivers MTF exits */
};

void test_main(void)
{
    if (rt_arg_flag("bench")) {
        bench();
        return;
    }
    if (!l1_init(false))
        return;
    for (unsigned i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (!want_test(groups[i].name) || (groups[i].opt_in && !only_list()))
            continue;
        rt_printf("---- %s\n", groups[i].name);
        groups[i].fn();
    }
    l1_off();
}

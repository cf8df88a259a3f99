/*
 * vmx_l2: an L1 test hypervisor that runs a 64-bit L2 guest under its own
 * vmcs12 and EPT12, written against the Intel SDM Vol. 3 chapters 24-29
 * (VMCS, VMX non-root operation, VM entries, VM exits, EPT) only, so that
 * it is equally valid on hardware.  It needs nested=1 under Nestor.
 *
 * Tests (each group a series of checks whose names start with the group):
 *   cpuid vmcall hlt io msr exc cr timer intwin inject ept entry launch misc
 * Arguments:
 *   only=a,b,...  run only these groups
 *   bench         no checks: L2 performs n= (default 1000) CPUID, VMCALL, OUT
 *                 and RDMSR in loops, L1 handles each exit with the minimum
 *                 (read the reason and instruction length, advance RIP,
 *                 VMRESUME), and prints "BENCH <kind> l2_roundtrip=<cycles>"
 *                 (and L1's own round trip to L0 for comparison)
 */
#include "l1.h"

static const char *only_list(void)
{
    const char *c = rt_boot.cmdline;
    for (const char *p = c; p && *p; p++)
        if ((p == c || p[-1] == ' ') && !strncmp(p, "only=", 5))
            return p + 5;
    return NULL;
}

bool want_test(const char *name)
{
    const char *l = only_list();
    if (!l)
        return true;
    size_t n = strlen(name);
    while (*l && *l != ' ') {
        if (!strncmp(l, name, n) && (l[n] == ',' || l[n] == ' ' || !l[n]))
            return true;
        while (*l && *l != ',' && *l != ' ')
            l++;
        if (*l == ',')
            l++;
    }
    return false;
}

static const struct { const char *name; void (*fn)(void); } groups[] = {
    { "cpuid", t_cpuid }, { "vmcall", t_vmcall }, { "hlt", t_hlt }, { "io", t_io },
    { "msr", t_msr }, { "exc", t_exc }, { "cr", t_cr }, { "timer", t_timer },
    { "intwin", t_intwin }, { "inject", t_inject }, { "ept", t_ept }, { "entry", t_entry },
    { "launch", t_launch }, { "misc", t_misc },
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
        if (!want_test(groups[i].name))
            continue;
        rt_printf("---- %s\n", groups[i].name);
        groups[i].fn();
    }
    l1_off();
}

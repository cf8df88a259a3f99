/* Guest CPUID policy.  Hidden: features whose state Nestor does not switch
 * or emulate (XSAVE/AVX state, x2APIC and the TSC-deadline timer of the
 * local APIC, VMX unless nested VMX is on, MONITOR/MWAIT, PMU, PT, SGX),
 * and FSRM, whose combination with the
 * reference machine's IA32_MISC_ENABLE breaks Linux 6.1's memmove. */
#include "cpuid_policy.h"
#include <nestor/abi.h>

static void nestor_leaves(const struct cpuid_ctx *c, uint32_t leaf, uint32_t r[4])
{
    r[0] = r[1] = r[2] = r[3] = 0;
    switch (leaf) {
    case NESTOR_CPUID_BASE:
        r[0] = NESTOR_CPUID_MAX;
        r[1] = NESTOR_CPUID_SIG_EBX;
        r[2] = NESTOR_CPUID_SIG_ECX;
        r[3] = NESTOR_CPUID_SIG_EDX;
        break;
    case NESTOR_CPUID_BASE + 1:
        r[0] = (NESTOR_VERSION_MAJOR << 16) | NESTOR_VERSION_MINOR;
        break;
    case NESTOR_CPUID_BASE + 2:
        r[0] = 1;
        r[1] = NESTOR_HYPERCALL_MSR;
        break;
    case NESTOR_CPUID_BASE + 3:
        r[0] = c->vcpu_id;
        r[1] = c->domid;
        r[2] = c->dom_flags;
        break;
    }
}

void cpuid_policy(const struct cpuid_ctx *c, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    if (leaf >= NESTOR_CPUID_BASE && leaf < NESTOR_CPUID_BASE + 0x100) {
        nestor_leaves(c, leaf, r);
        return;
    }
    switch (leaf) {
    case 1:
        r[1] = (r[1] & 0x0000ffff) | (1u << 16) | (c->vcpu_id << 24);  /* 1 logical CPU, APIC id */
        r[2] = (r[2] & ~(uint32_t)(CPUID1_ECX_HIDDEN & ~(c->nested ? CPUID1_ECX_VMX : 0))) |
               CPUID1_ECX_HV;
        r[3] &= ~(uint32_t)(CPUID1_EDX_HIDDEN | CPUID1_EDX_APIC);
        /* The xAPIC is emulated; the flag follows its global enable, as on
         * hardware (SDM: IA32_APIC_BASE[11] = 0 clears CPUID.1:EDX[9]). */
        if (c->apic)
            r[3] |= CPUID1_EDX_APIC;
        break;
    case 4:
        r[0] &= 0x3fff;             /* one core per package, one thread per cache */
        break;
    case 5: case 6: case 0xa: case 0xd: case 0x12: case 0x14: case 0x1a: case 0x1b:
    case 0x1c: case 0x1d: case 0x1e:
        r[0] = r[1] = r[2] = r[3] = 0;      /* MWAIT, power, PMU, XSAVE, SGX, PT, ... */
        break;
    case 7:
        if (sub == 0) {
            r[1] &= ~(uint32_t)CPUID7_EBX_HIDDEN;
            if (!c->invpcid)
                r[1] &= ~(uint32_t)BIT(10);
            r[2] &= ~(uint32_t)CPUID7_ECX_HIDDEN;
            r[3] &= ~(uint32_t)CPUID7_EDX_HIDDEN;
        } else {
            r[0] = r[1] = r[2] = r[3] = 0;
        }
        break;
    case 0xb: case 0x1f:
        /* One thread, one core: x2APIC id = vCPU id. */
        r[0] = 0;
        r[1] = sub <= 1 ? 1 : 0;
        r[2] = sub <= 1 ? ((sub + 1) << 8) | sub : sub;
        r[3] = c->vcpu_id;
        break;
    case 0x80000001:
        if (!c->rdtscp)
            r[3] &= ~(uint32_t)BIT(27);
        break;
    }
}

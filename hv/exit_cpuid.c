/* CPUID exit: the hottest path in the benchmarks, so kept lean. */
#include "exit.h"
#include "cpuid_policy.h"
#include "vcpu.h"
#include "vmx.h"
#include "x86.h"

void handle_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.gpr[R_AX], sub = (uint32_t)v->regs.gpr[R_CX];
    uint32_t r[4] = { 0, 0, 0, 0 };
    struct cpuid_ctx c = {
        .vcpu_id = v->id, .domid = v->dom->id, .dom_flags = v->dom->flags,
        .rdtscp = vmx_caps.proc2 & PROC2_ENABLE_RDTSCP,
        .invpcid = vmx_caps.proc2 & PROC2_ENABLE_INVPCID,
        .nested = v->dom->cfg.nested,
        .apic = lapic_hw_enabled(&v->lapic),
    };
    if (leaf < NESTOR_CPUID_BASE || leaf >= NESTOR_CPUID_BASE + 0x100)
        cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3]);
    cpuid_policy(&c, leaf, sub, r);
    v->regs.gpr[R_AX] = r[0];
    v->regs.gpr[R_BX] = r[1];
    v->regs.gpr[R_CX] = r[2];
    v->regs.gpr[R_DX] = r[3];
    vcpu_skip_instruction(v);
}

/*
 * Every VMCS field of the SDM (Vol. 3, Appendix B), with the condition
 * under which Nestor's virtual CPU has it: some always, some only with the
 * feature they belong to, some never (features L1 is not offered; see
 * docs/NESTED.md).  Sorted by encoding.  Shared by vmx_insn and vmxfuzz.
 */
#ifndef VMX_FIELDS_H
#define VMX_FIELDS_H

#include <stdint.h>

enum field_cond { C_ALWAYS, C_NEVER, C_VPID, C_EPT, C_PML, C_VMFUNC, C_SHADOW, C_PLE, C_PREEMPT };

struct sdm_field {
    uint16_t enc;
    uint8_t cond;
    const char *name;
};

static const struct sdm_field sdm_fields[] = {
    { 0x0000, C_VPID, "VPID" }, { 0x0002, C_NEVER, "posted-intr vector" },
    { 0x0004, C_NEVER, "EPTP index" }, { 0x0006, C_NEVER, "HLAT prefix size" },
    { 0x0800, C_ALWAYS, "guest ES sel" }, { 0x0802, C_ALWAYS, "guest CS sel" },
    { 0x0804, C_ALWAYS, "guest SS sel" }, { 0x0806, C_ALWAYS, "guest DS sel" },
    { 0x0808, C_ALWAYS, "guest FS sel" }, { 0x080a, C_ALWAYS, "guest GS sel" },
    { 0x080c, C_ALWAYS, "guest LDTR sel" }, { 0x080e, C_ALWAYS, "guest TR sel" },
    { 0x0810, C_NEVER, "guest intr status" }, { 0x0812, C_PML, "PML index" },
    { 0x0c00, C_ALWAYS, "host ES sel" }, { 0x0c02, C_ALWAYS, "host CS sel" },
    { 0x0c04, C_ALWAYS, "host SS sel" }, { 0x0c06, C_ALWAYS, "host DS sel" },
    { 0x0c08, C_ALWAYS, "host FS sel" }, { 0x0c0a, C_ALWAYS, "host GS sel" },
    { 0x0c0c, C_ALWAYS, "host TR sel" },
    { 0x2000, C_ALWAYS, "I/O bitmap A" }, { 0x2002, C_ALWAYS, "I/O bitmap B" },
    { 0x2004, C_ALWAYS, "MSR bitmap" }, { 0x2006, C_ALWAYS, "exit MSR store" },
    { 0x2008, C_ALWAYS, "exit MSR load" }, { 0x200a, C_ALWAYS, "entry MSR load" },
    { 0x200c, C_ALWAYS, "executive VMCS ptr" }, { 0x200e, C_PML, "PML address" },
    { 0x2010, C_ALWAYS, "TSC offset" }, { 0x2012, C_NEVER, "virtual-APIC addr" },
    { 0x2014, C_NEVER, "APIC-access addr" }, { 0x2016, C_NEVER, "posted-intr desc" },
    { 0x2018, C_VMFUNC, "VM-function ctls" }, { 0x201a, C_EPT, "EPTP" },
    { 0x201c, C_NEVER, "EOI-exit bitmap 0" }, { 0x2024, C_NEVER, "EPTP list" },
    { 0x2026, C_SHADOW, "VMREAD bitmap" }, { 0x2028, C_SHADOW, "VMWRITE bitmap" },
    { 0x202a, C_NEVER, "#VE info addr" }, { 0x202c, C_NEVER, "XSS-exiting bitmap" },
    { 0x202e, C_NEVER, "ENCLS-exiting bitmap" }, { 0x2030, C_NEVER, "SPPTP" },
    { 0x2032, C_NEVER, "TSC multiplier" }, { 0x2034, C_NEVER, "tertiary ctls" },
    { 0x2400, C_EPT, "guest-physical addr" },
    { 0x2800, C_ALWAYS, "VMCS link ptr" }, { 0x2802, C_ALWAYS, "guest DEBUGCTL" },
    { 0x2804, C_ALWAYS, "guest PAT" }, { 0x2806, C_ALWAYS, "guest EFER" },
    { 0x2808, C_NEVER, "guest PERF_GLOBAL_CTRL" }, { 0x280a, C_EPT, "PDPTE0" },
    { 0x280c, C_EPT, "PDPTE1" }, { 0x280e, C_EPT, "PDPTE2" }, { 0x2810, C_EPT, "PDPTE3" },
    { 0x2812, C_NEVER, "guest BNDCFGS" }, { 0x2814, C_NEVER, "guest RTIT_CTL" },
    { 0x2c00, C_ALWAYS, "host PAT" }, { 0x2c02, C_ALWAYS, "host EFER" },
    { 0x2c04, C_NEVER, "host PERF_GLOBAL_CTRL" },
    { 0x4000, C_ALWAYS, "pin ctls" }, { 0x4002, C_ALWAYS, "proc ctls" },
    { 0x4004, C_ALWAYS, "exception bitmap" }, { 0x4006, C_ALWAYS, "#PF mask" },
    { 0x4008, C_ALWAYS, "#PF match" }, { 0x400a, C_ALWAYS, "CR3-target count" },
    { 0x400c, C_ALWAYS, "exit ctls" }, { 0x400e, C_ALWAYS, "exit MSR-store count" },
    { 0x4010, C_ALWAYS, "exit MSR-load count" }, { 0x4012, C_ALWAYS, "entry ctls" },
    { 0x4014, C_ALWAYS, "entry MSR-load count" }, { 0x4016, C_ALWAYS, "entry intr info" },
    { 0x4018, C_ALWAYS, "entry exc error" }, { 0x401a, C_ALWAYS, "entry instr len" },
    { 0x401c, C_NEVER, "TPR threshold" }, { 0x401e, C_ALWAYS, "secondary ctls" },
    { 0x4020, C_PLE, "PLE gap" }, { 0x4022, C_PLE, "PLE window" },
    { 0x4400, C_ALWAYS, "VM-instruction error" }, { 0x4402, C_ALWAYS, "exit reason" },
    { 0x4404, C_ALWAYS, "exit intr info" }, { 0x4406, C_ALWAYS, "exit intr error" },
    { 0x4408, C_ALWAYS, "IDT-vectoring info" }, { 0x440a, C_ALWAYS, "IDT-vectoring error" },
    { 0x440c, C_ALWAYS, "exit instr len" }, { 0x440e, C_ALWAYS, "instr info" },
    { 0x4800, C_ALWAYS, "ES limit" }, { 0x4802, C_ALWAYS, "CS limit" },
    { 0x4804, C_ALWAYS, "SS limit" }, { 0x4806, C_ALWAYS, "DS limit" },
    { 0x4808, C_ALWAYS, "FS limit" }, { 0x480a, C_ALWAYS, "GS limit" },
    { 0x480c, C_ALWAYS, "LDTR limit" }, { 0x480e, C_ALWAYS, "TR limit" },
    { 0x4810, C_ALWAYS, "GDTR limit" }, { 0x4812, C_ALWAYS, "IDTR limit" },
    { 0x4814, C_ALWAYS, "ES AR" }, { 0x4816, C_ALWAYS, "CS AR" }, { 0x4818, C_ALWAYS, "SS AR" },
    { 0x481a, C_ALWAYS, "DS AR" }, { 0x481c, C_ALWAYS, "FS AR" }, { 0x481e, C_ALWAYS, "GS AR" },
    { 0x4820, C_ALWAYS, "LDTR AR" }, { 0x4822, C_ALWAYS, "TR AR" },
    { 0x4824, C_ALWAYS, "interruptibility" }, { 0x4826, C_ALWAYS, "activity state" },
    { 0x4828, C_ALWAYS, "SMBASE" }, { 0x482a, C_ALWAYS, "guest SYSENTER_CS" },
    { 0x482e, C_PREEMPT, "preemption timer" },
    { 0x4c00, C_ALWAYS, "host SYSENTER_CS" },
    { 0x6000, C_ALWAYS, "CR0 mask" }, { 0x6002, C_ALWAYS, "CR4 mask" },
    { 0x6004, C_ALWAYS, "CR0 shadow" }, { 0x6006, C_ALWAYS, "CR4 shadow" },
    { 0x6008, C_ALWAYS, "CR3 target 0" }, { 0x600a, C_ALWAYS, "CR3 target 1" },
    { 0x600c, C_ALWAYS, "CR3 target 2" }, { 0x600e, C_ALWAYS, "CR3 target 3" },
    { 0x6400, C_ALWAYS, "exit qualification" }, { 0x6402, C_ALWAYS, "I/O RCX" },
    { 0x6404, C_ALWAYS, "I/O RSI" }, { 0x6406, C_ALWAYS, "I/O RDI" },
    { 0x6408, C_ALWAYS, "I/O RIP" }, { 0x640a, C_ALWAYS, "guest-linear addr" },
    { 0x6800, C_ALWAYS, "guest CR0" }, { 0x6802, C_ALWAYS, "guest CR3" },
    { 0x6804, C_ALWAYS, "guest CR4" }, { 0x6806, C_ALWAYS, "ES base" },
    { 0x6808, C_ALWAYS, "CS base" }, { 0x680a, C_ALWAYS, "SS base" },
    { 0x680c, C_ALWAYS, "DS base" }, { 0x680e, C_ALWAYS, "FS base" },
    { 0x6810, C_ALWAYS, "GS base" }, { 0x6812, C_ALWAYS, "LDTR base" },
    { 0x6814, C_ALWAYS, "TR base" }, { 0x6816, C_ALWAYS, "GDTR base" },
    { 0x6818, C_ALWAYS, "IDTR base" }, { 0x681a, C_ALWAYS, "DR7" },
    { 0x681c, C_ALWAYS, "guest RSP" }, { 0x681e, C_ALWAYS, "guest RIP" },
    { 0x6820, C_ALWAYS, "guest RFLAGS" }, { 0x6822, C_ALWAYS, "pending dbg" },
    { 0x6824, C_ALWAYS, "guest SYSENTER_ESP" }, { 0x6826, C_ALWAYS, "guest SYSENTER_EIP" },
    { 0x6828, C_NEVER, "guest S_CET" },
    { 0x6c00, C_ALWAYS, "host CR0" }, { 0x6c02, C_ALWAYS, "host CR3" },
    { 0x6c04, C_ALWAYS, "host CR4" }, { 0x6c06, C_ALWAYS, "host FS base" },
    { 0x6c08, C_ALWAYS, "host GS base" }, { 0x6c0a, C_ALWAYS, "host TR base" },
    { 0x6c0c, C_ALWAYS, "host GDTR base" }, { 0x6c0e, C_ALWAYS, "host IDTR base" },
    { 0x6c10, C_ALWAYS, "host SYSENTER_ESP" }, { 0x6c12, C_ALWAYS, "host SYSENTER_EIP" },
    { 0x6c14, C_ALWAYS, "host RSP" }, { 0x6c16, C_ALWAYS, "host RIP" },
    { 0x6c18, C_NEVER, "host S_CET" },
};
#define NR_SDM_FIELDS (sizeof(sdm_fields) / sizeof(sdm_fields[0]))

/* The VMX capability MSRs decide which conditional fields exist. */
struct vmx_caps_l1 {
    uint64_t basic, pin, proc, exit, entry, misc, cr0f0, cr0f1, cr4f0, cr4f1, vmcs_enum;
    uint64_t proc2, ept_vpid, tpin, tproc, texit, tentry, vmfunc;
};

static inline bool field_exists(const struct vmx_caps_l1 *c, const struct sdm_field *f)
{
    uint32_t p2 = (uint32_t)(c->proc2 >> 32), pin = (uint32_t)(c->pin >> 32);
    switch (f->cond) {
    case C_ALWAYS:  return true;
    case C_VPID:    return p2 & (1u << 5);
    case C_EPT:     return p2 & (1u << 1);
    case C_PML:     return p2 & (1u << 17);
    case C_VMFUNC:  return p2 & (1u << 13);
    case C_SHADOW:  return p2 & (1u << 14);
    case C_PLE:     return p2 & (1u << 10);
    case C_PREEMPT: return pin & (1u << 6);
    default:        return false;
    }
}

/* Nestor's vmcs12 layout (docs/NESTED.md): field i of the table of every
 * field the virtual CPU can have, sorted by encoding, lives at 16 + 8*i,
 * whatever features are offered. */
static inline int vmcs12_offset_of(uint16_t enc)
{
    int i = 0;
    for (unsigned k = 0; k < NR_SDM_FIELDS; k++) {
        if (sdm_fields[k].cond == C_NEVER)
            continue;
        if (sdm_fields[k].enc == enc)
            return 16 + 8 * i;
        i++;
    }
    return -1;
}

static inline unsigned enc_width(uint64_t e) { return (e >> 13) & 3; }   /* 0 16, 1 64, 2 32, 3 nat */
static inline unsigned enc_type(uint64_t e) { return (e >> 10) & 3; }    /* 1 = exit information */

static inline uint64_t width_mask(uint64_t e)
{
    switch (enc_width(e)) {
    case 0: return 0xffff;
    case 2: return 0xffffffff;
    default: return ~0ull;
    }
}

#endif

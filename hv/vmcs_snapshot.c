/* Reads the current VMCS into a guest_state snapshot. */
#include "vmcs_check.h"
#include "vmx.h"

bool vmcs_check_guest_state(char *buf, size_t size)
{
    struct guest_state g = {
        .cr0 = vmread(VMCS_GUEST_CR0), .cr4 = vmread(VMCS_GUEST_CR4),
        .efer = vmread(VMCS_GUEST_IA32_EFER), .rflags = vmread(VMCS_GUEST_RFLAGS),
        .rip = vmread(VMCS_GUEST_RIP), .link_ptr = vmread(VMCS_LINK_POINTER),
        .entry_ctls = (uint32_t)vmread(VMCS_ENTRY_CONTROLS),
        .proc2 = (uint32_t)vmread(VMCS_PROC_CONTROLS2),
        .activity = (uint32_t)vmread(VMCS_GUEST_ACTIVITY_STATE),
        .interruptibility = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY),
        .cr0_fixed0 = vmx_caps.cr0_fixed0, .cr0_fixed1 = vmx_caps.cr0_fixed1,
        .cr4_fixed0 = vmx_caps.cr4_fixed0, .cr4_fixed1 = vmx_caps.cr4_fixed1,
    };
    for (unsigned i = 0; i < GS_NR; i++) {
        g.seg[i].sel = (uint16_t)vmread(VMCS_GUEST_ES_SEL + 2 * i);
        g.seg[i].base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
        g.seg[i].limit = (uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
        g.seg[i].ar = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * i);
    }
    return guest_state_check(&g, buf, size);
}

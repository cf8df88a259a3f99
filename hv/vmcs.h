/* Building a vCPU's VMCS: controls and host state once, guest state for
 * the two start conventions (ELF64 long mode, multiboot 32-bit). */
#ifndef HV_VMCS_H
#define HV_VMCS_H

#include "domain.h"
#include "vmx.h"
#include "x86.h"

/* Allocates, clears, loads and fills the VMCS of v.  Returns 0 or -1. */
int vmcs_create(struct vcpu *v);
/* Writes the hv's host-state area into the current VMCS (any VMCS the hv
 * runs a guest on: a vCPU's own, or a vmcs02). */
void vmcs_write_host_state(void);
void vmcs_destroy(struct vcpu *v);
/* Guest state at an ELF64 entry: see NESTOR_* in nestor/abi.h. */
void vmcs_guest_long_mode(struct vcpu *v, uint64_t rip, uint64_t start_info);
/* Guest state at a multiboot entry: 32-bit protected mode, paging off. */
void vmcs_guest_multiboot(struct vcpu *v, uint64_t rip, uint32_t eax, uint32_t ebx);
/* Bits of CR0/CR4 the hv owns (guest/host masks). */
#define HV_CR0_OWNED (CR0_NE)
#define HV_CR4_OWNED (CR4_VMXE | CR4_SMXE | CR4_OSXSAVE)

/* Writes the guest's view of CR0/CR4 with the bits VMX forces hidden
 * (inline: every exit to an L1 hypervisor loads both). */
static inline void vmcs_set_guest_cr0(uint64_t cr0)
{
    /* Unrestricted guest: PE and PG may be 0; other fixed bits are forced
     * and hidden behind the read shadow. */
    uint64_t fixed0 = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);
    vmwrite(VMCS_CR0_READ_SHADOW, cr0);
    vmwrite(VMCS_GUEST_CR0, (cr0 | fixed0) & vmx_caps.cr0_fixed1);
}

static inline void vmcs_set_guest_cr4(uint64_t cr4)
{
    vmwrite(VMCS_CR4_READ_SHADOW, cr4);
    vmwrite(VMCS_GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
}

/* The guest's view of CR0/CR4: owned bits from the read shadow, the rest
 * from the real register (writes to unowned bits never exit). */
static inline uint64_t vmcs_guest_cr0(void)
{
    return (vmread(VMCS_CR0_READ_SHADOW) & HV_CR0_OWNED) | (vmread(VMCS_GUEST_CR0) & ~HV_CR0_OWNED);
}

static inline uint64_t vmcs_guest_cr4(void)
{
    return (vmread(VMCS_CR4_READ_SHADOW) & HV_CR4_OWNED) | (vmread(VMCS_GUEST_CR4) & ~HV_CR4_OWNED);
}
/* CR4 bits every guest may set (VMXE too with nested=1: nested/). */
#define HV_CR4_GUEST_BITS (CR4_VME | BIT(1) | BIT(2) | BIT(3) | CR4_PSE | CR4_PAE | BIT(6) | \
                           CR4_PGE | BIT(8) | CR4_OSFXSR | CR4_OSXMMEXCPT | BIT(11) | \
                           BIT(16) | CR4_PCIDE | CR4_SMEP | CR4_SMAP)

#endif

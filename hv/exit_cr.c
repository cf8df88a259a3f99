/* Control-register exits.  Only CR0.NE and CR4.VMXE/SMXE/OSXSAVE are owned
 * by the hv (and CR0.PE/PG while a nested=1 domain is in VMX operation), so
 * only writes touching those, and CR8 accesses, arrive here.
 * A write that exits is emulated in full, including the paging-mode
 * transitions the CPU would have made (SDM 4.1.2, 9.8.5). */
#include "exit.h"
#include "console.h"
#include "nested.h"
#include "vcpu.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

#define CRQ_NUM(q)    ((q) & 0xf)
#define CRQ_TYPE(q)   (((q) >> 4) & 3)
#define CRQ_GPR(q)    (((q) >> 8) & 0xf)
#define CR_MOV_TO     0
#define CR_MOV_FROM   1

static void load_pdptes(struct vcpu *v, uint64_t cr3)
{
    uint64_t pdpte[4] = { 0 };
    copy_from_gpa(v->dom, pdpte, cr3 & 0xffffffe0, sizeof(pdpte));
    for (unsigned i = 0; i < 4; i++)
        vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static bool set_cr0(struct vcpu *v, uint64_t val)
{
    uint64_t old = vmcs_guest_cr0();
    uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);
    uint64_t cr4 = vmcs_guest_cr4();

    if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
        return false;
    if (!nested_cr0_write_ok(v, val))
        return false;       /* PE, NE, PG fixed in VMX operation */
    if (!(old & CR0_PG) && (val & CR0_PG) && (efer & EFER_LME)) {
        if (!(cr4 & CR4_PAE))
            return false;
        vmwrite(VMCS_GUEST_IA32_EFER, efer | EFER_LMA);
        vmwrite(VMCS_ENTRY_CONTROLS, vmread(VMCS_ENTRY_CONTROLS) | ENTRY_IA32E_MODE_GUEST);
    } else if ((old & CR0_PG) && !(val & CR0_PG) && (efer & EFER_LMA)) {
        vmwrite(VMCS_GUEST_IA32_EFER, efer & ~EFER_LMA);
        vmwrite(VMCS_ENTRY_CONTROLS, vmread(VMCS_ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE_GUEST);
    }
    /* PAE paging outside long mode: VM entry loads the PDPTEs from the VMCS. */
    if ((val & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LME))
        load_pdptes(v, vmread(VMCS_GUEST_CR3));
    vmcs_set_guest_cr0(val);
    return true;
}

static bool set_cr4(struct vcpu *v, uint64_t val)
{
    uint64_t efer = vmread(VMCS_GUEST_IA32_EFER);
    if (val & ~(uint64_t)(HV_CR4_GUEST_BITS | CR4_VMXE))
        return false;       /* includes SMXE and OSXSAVE: not offered */
    if (!nested_cr4_write_ok(v, val))
        return false;       /* VMXE: nested=1 only, fixed in VMX operation */
    if ((efer & EFER_LMA) && !(val & CR4_PAE))
        return false;
    if ((val & CR4_PCIDE) && !(efer & EFER_LMA))
        return false;
    uint64_t old = vmcs_guest_cr4();
    if ((vmcs_guest_cr0() & CR0_PG) && !(efer & EFER_LMA) &&
        ((val ^ old) & (CR4_PAE | CR4_PSE | CR4_PGE)) && (val & CR4_PAE))
        load_pdptes(v, vmread(VMCS_GUEST_CR3));
    vmcs_set_guest_cr4(val);
    return true;
}

void handle_cr_access(struct vcpu *v)
{
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    unsigned cr = CRQ_NUM(q), type = CRQ_TYPE(q), gpr = CRQ_GPR(q);
    bool ok;

    if (type == CR_MOV_TO) {
        uint64_t val = vcpu_gpr(v, gpr);
        if (!(vmread(VMCS_GUEST_CS_AR) & BIT(13)))
            val &= 0xffffffff;              /* outside 64-bit mode */
        switch (cr) {
        case 0: ok = set_cr0(v, val); break;
        case 4: ok = set_cr4(v, val); break;
        case 8:
            /* CR8 is the local APIC's TPR[7:4]: a lower one may let a
             * held-back vector through. */
            ok = !(val >> 4);
            if (ok) {
                lapic_set_cr8(&v->lapic, (uint8_t)val);
                vcpu_lapic_sync(v);
            }
            break;
        default: ok = false;
        }
    } else if (type == CR_MOV_FROM && cr == 8) {
        vcpu_set_gpr(v, gpr, lapic_cr8(&v->lapic));
        ok = true;
    } else {
        domain_crash(v->dom, "unexpected CR access exit (qualification %#lx)", q);
        return;
    }
    if (!ok) {
        vcpu_inject_gp0(v);
        return;
    }
    vcpu_skip_instruction(v);
}


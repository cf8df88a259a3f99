/* VMCS set-up for a vCPU.  Fields are grouped by how often they change:
 * controls and host state are written once here; guest state at start;
 * per-exit fields by the exit handlers. */
#include "vmcs.h"
#include "console.h"
#include "cpu.h"
#include "pmm.h"
#include "vmx.h"
#include "bootinfo.h"
#include "x86.h"

extern char vmx_exit_stub[];

/* Segment access rights (SDM 24.4.1) */
#define AR_CODE64   0xa09b
#define AR_CODE32   0xc09b
#define AR_DATA     0xc093
#define AR_TSS_BUSY 0x008b
#define AR_UNUSABLE 0x10000

static void write_controls(struct vcpu *v)
{
    struct domain *d = v->dom;
    uint32_t proc2 = vmx_caps.proc2;

    vmwrite(VMCS_PIN_CONTROLS, vmx_caps.pin);
    vmwrite(VMCS_PROC_CONTROLS, vmx_caps.proc);
    vmwrite(VMCS_PROC_CONTROLS2, proc2);
    vmwrite(VMCS_EXIT_CONTROLS, vmx_caps.exit);
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_caps.entry);
    vmwrite(VMCS_EXCEPTION_BITMAP, BIT(X86_EXC_MC));
    vmwrite(VMCS_PF_ERROR_MASK, 0);
    vmwrite(VMCS_PF_ERROR_MATCH, 0);
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_IO_BITMAP_A, d->io_bitmap_pa);
    vmwrite(VMCS_IO_BITMAP_B, d->io_bitmap_pa + PAGE_SIZE);
    vmwrite(VMCS_MSR_BITMAP, d->msr_bitmap_pa);
    vmwrite(VMCS_EPT_POINTER, ept_eptp(&d->ept, vmx_caps.has_ept_ad));
    vmwrite(VMCS_VPID, v->vpid);
    vmwrite(VMCS_CR0_GUEST_HOST_MASK, HV_CR0_OWNED);
    vmwrite(VMCS_CR4_GUEST_HOST_MASK, HV_CR4_OWNED);
    vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
    vmwrite(VMCS_LINK_POINTER, ~0ull);
}

void vmcs_write_host_state(void)
{
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, read_cr3());
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_CS_SEL, HV_CS);
    vmwrite(VMCS_HOST_SS_SEL, HV_DS);
    vmwrite(VMCS_HOST_DS_SEL, HV_DS);
    vmwrite(VMCS_HOST_ES_SEL, HV_DS);
    vmwrite(VMCS_HOST_FS_SEL, 0);
    vmwrite(VMCS_HOST_GS_SEL, 0);
    vmwrite(VMCS_HOST_TR_SEL, HV_TSS);
    vmwrite(VMCS_HOST_FS_BASE, 0);
    vmwrite(VMCS_HOST_GS_BASE, 0);
    vmwrite(VMCS_HOST_TR_BASE, cpu_tss_base());
    vmwrite(VMCS_HOST_GDTR_BASE, cpu_gdt_base());
    vmwrite(VMCS_HOST_IDTR_BASE, cpu_idt_base());
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
    vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
    vmwrite(VMCS_HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
    vmwrite(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
}

int vmcs_create(struct vcpu *v)
{
    v->vmcs_pa = pmm_alloc_zeroed_page();
    if (!v->vmcs_pa)
        return -1;
    *(uint32_t *)phys_to_virt(v->vmcs_pa) = vmx_caps.revision;
    if (vmclear(v->vmcs_pa) || vmptrld(v->vmcs_pa)) {
        pmm_free(v->vmcs_pa, 1);
        v->vmcs_pa = 0;
        return -1;
    }
    v->launched = false;
    write_controls(v);
    vmcs_write_host_state();
    return 0;
}

void vmcs_destroy(struct vcpu *v)
{
    if (!v->vmcs_pa)
        return;
    vmclear(v->vmcs_pa);
    pmm_free(v->vmcs_pa, 1);
    v->vmcs_pa = 0;
}


static void set_segment(unsigned idx, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    /* ES, CS, SS, DS, FS, GS, LDTR, TR fields are consecutive encodings. */
    vmwrite(VMCS_GUEST_ES_SEL + 2 * idx, sel);
    vmwrite(VMCS_GUEST_ES_BASE + 2 * idx, base);
    vmwrite(VMCS_GUEST_ES_LIMIT + 2 * idx, limit);
    vmwrite(VMCS_GUEST_ES_AR + 2 * idx, ar);
}

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

static void common_guest_state(uint16_t cs, uint32_t cs_ar)
{
    set_segment(SEG_CS, cs, 0, 0xffffffff, cs_ar);
    for (unsigned s = SEG_ES; s <= SEG_GS; s++)
        if (s != SEG_CS)
            set_segment(s, 0x10, 0, 0xffffffff, AR_DATA);
    set_segment(SEG_LDTR, 0, 0, 0, AR_UNUSABLE);
    set_segment(SEG_TR, 0, 0, 0x67, AR_TSS_BUSY);
    vmwrite(VMCS_GUEST_GDTR_BASE, NESTOR_BOOT_GDT_GPA);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, BOOT_GDT_SIZE_LIMIT);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0);
    vmwrite(VMCS_GUEST_DR7, 0x400);
    vmwrite(VMCS_GUEST_RFLAGS, 0x2);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_GUEST_IA32_DEBUGCTL, 0);
    vmwrite(VMCS_GUEST_IA32_PAT, 0x0007040600070406ull);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
}

void vmcs_guest_long_mode(struct vcpu *v, uint64_t rip, uint64_t start_info)
{
    common_guest_state(0x08, AR_CODE64);
    vmcs_set_guest_cr0(CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
    vmcs_set_guest_cr4(CR4_PAE);
    vmwrite(VMCS_GUEST_CR3, NESTOR_BOOT_PML4_GPA);
    vmwrite(VMCS_GUEST_IA32_EFER, EFER_LME | EFER_LMA | EFER_NXE);
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_caps.entry | ENTRY_IA32E_MODE_GUEST);
    vmwrite(VMCS_GUEST_RIP, rip);
    vmwrite(VMCS_GUEST_RSP, NESTOR_BOOT_STACK_GPA);
    v->regs.gpr[R_DI] = start_info;
}

void vmcs_guest_multiboot(struct vcpu *v, uint64_t rip, uint32_t eax, uint32_t ebx)
{
    common_guest_state(0x18, AR_CODE32);
    vmcs_set_guest_cr0(CR0_PE | CR0_ET);
    vmcs_set_guest_cr4(0);
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_IA32_EFER, 0);
    vmwrite(VMCS_ENTRY_CONTROLS, vmx_caps.entry & ~ENTRY_IA32E_MODE_GUEST);
    vmwrite(VMCS_GUEST_RIP, rip);
    vmwrite(VMCS_GUEST_RSP, 0);
    v->regs.gpr[R_AX] = eax;
    v->regs.gpr[R_BX] = ebx;
}

/* The vmcs12 field table and VMREAD/VMWRITE on Nestor's layout.  Pure. */
#include "vmcs12.h"

#define F(enc, feat, nm) { enc, feat, nm }

/* Sorted by encoding; the position is the layout (see vmcs12.h).  These
 * are the fields of SDM Appendix B that belong to what L1 is offered (see
 * docs/NESTED.md); fields of features it is not offered (posted
 * interrupts, APIC virtualization, #VE, XSAVES, SGX, SPP, TSC scaling,
 * PT, CET, PKS, the PMU, tertiary controls) do not exist for L1. */
const struct vmcs12_field vmcs12_fields[VMCS12_NR_FIELDS] = {
    /* 16-bit control */
    F(0x0000, VMCS12_F_VPID, "VPID"),
    /* 16-bit guest state */
    F(0x0800, 0, "GUEST_ES_SELECTOR"),
    F(0x0802, 0, "GUEST_CS_SELECTOR"),
    F(0x0804, 0, "GUEST_SS_SELECTOR"),
    F(0x0806, 0, "GUEST_DS_SELECTOR"),
    F(0x0808, 0, "GUEST_FS_SELECTOR"),
    F(0x080a, 0, "GUEST_GS_SELECTOR"),
    F(0x080c, 0, "GUEST_LDTR_SELECTOR"),
    F(0x080e, 0, "GUEST_TR_SELECTOR"),
    F(0x0812, VMCS12_F_PML, "GUEST_PML_INDEX"),
    /* 16-bit host state */
    F(0x0c00, 0, "HOST_ES_SELECTOR"),
    F(0x0c02, 0, "HOST_CS_SELECTOR"),
    F(0x0c04, 0, "HOST_SS_SELECTOR"),
    F(0x0c06, 0, "HOST_DS_SELECTOR"),
    F(0x0c08, 0, "HOST_FS_SELECTOR"),
    F(0x0c0a, 0, "HOST_GS_SELECTOR"),
    F(0x0c0c, 0, "HOST_TR_SELECTOR"),
    /* 64-bit control */
    F(0x2000, 0, "IO_BITMAP_A"),
    F(0x2002, 0, "IO_BITMAP_B"),
    F(0x2004, 0, "MSR_BITMAP"),
    F(0x2006, 0, "VM_EXIT_MSR_STORE_ADDR"),
    F(0x2008, 0, "VM_EXIT_MSR_LOAD_ADDR"),
    F(0x200a, 0, "VM_ENTRY_MSR_LOAD_ADDR"),
    F(0x200c, 0, "EXECUTIVE_VMCS_POINTER"),
    F(0x200e, VMCS12_F_PML, "PML_ADDRESS"),
    F(0x2010, 0, "TSC_OFFSET"),
    F(0x2018, VMCS12_F_VMFUNC, "VM_FUNCTION_CONTROLS"),
    F(0x201a, VMCS12_F_EPT, "EPT_POINTER"),
    F(0x2026, VMCS12_F_SHADOW, "VMREAD_BITMAP"),
    F(0x2028, VMCS12_F_SHADOW, "VMWRITE_BITMAP"),
    /* 64-bit read-only data */
    F(0x2400, VMCS12_F_EPT, "GUEST_PHYSICAL_ADDRESS"),
    /* 64-bit guest state */
    F(0x2800, 0, "VMCS_LINK_POINTER"),
    F(0x2802, 0, "GUEST_IA32_DEBUGCTL"),
    F(0x2804, 0, "GUEST_IA32_PAT"),
    F(0x2806, 0, "GUEST_IA32_EFER"),
    F(0x280a, VMCS12_F_EPT, "GUEST_PDPTE0"),
    F(0x280c, VMCS12_F_EPT, "GUEST_PDPTE1"),
    F(0x280e, VMCS12_F_EPT, "GUEST_PDPTE2"),
    F(0x2810, VMCS12_F_EPT, "GUEST_PDPTE3"),
    /* 64-bit host state */
    F(0x2c00, 0, "HOST_IA32_PAT"),
    F(0x2c02, 0, "HOST_IA32_EFER"),
    /* 32-bit control */
    F(0x4000, 0, "PIN_BASED_VM_EXEC_CONTROL"),
    F(0x4002, 0, "CPU_BASED_VM_EXEC_CONTROL"),
    F(0x4004, 0, "EXCEPTION_BITMAP"),
    F(0x4006, 0, "PAGE_FAULT_ERROR_CODE_MASK"),
    F(0x4008, 0, "PAGE_FAULT_ERROR_CODE_MATCH"),
    F(0x400a, 0, "CR3_TARGET_COUNT"),
    F(0x400c, 0, "VM_EXIT_CONTROLS"),
    F(0x400e, 0, "VM_EXIT_MSR_STORE_COUNT"),
    F(0x4010, 0, "VM_EXIT_MSR_LOAD_COUNT"),
    F(0x4012, 0, "VM_ENTRY_CONTROLS"),
    F(0x4014, 0, "VM_ENTRY_MSR_LOAD_COUNT"),
    F(0x4016, 0, "VM_ENTRY_INTR_INFO"),
    F(0x4018, 0, "VM_ENTRY_EXCEPTION_ERROR_CODE"),
    F(0x401a, 0, "VM_ENTRY_INSTRUCTION_LEN"),
    F(0x401e, 0, "SECONDARY_VM_EXEC_CONTROL"),
    F(0x4020, VMCS12_F_PLE, "PLE_GAP"),
    F(0x4022, VMCS12_F_PLE, "PLE_WINDOW"),
    /* 32-bit read-only data */
    F(0x4400, 0, "VM_INSTRUCTION_ERROR"),
    F(0x4402, 0, "VM_EXIT_REASON"),
    F(0x4404, 0, "VM_EXIT_INTR_INFO"),
    F(0x4406, 0, "VM_EXIT_INTR_ERROR_CODE"),
    F(0x4408, 0, "IDT_VECTORING_INFO"),
    F(0x440a, 0, "IDT_VECTORING_ERROR_CODE"),
    F(0x440c, 0, "VM_EXIT_INSTRUCTION_LEN"),
    F(0x440e, 0, "VMX_INSTRUCTION_INFO"),
    /* 32-bit guest state */
    F(0x4800, 0, "GUEST_ES_LIMIT"),
    F(0x4802, 0, "GUEST_CS_LIMIT"),
    F(0x4804, 0, "GUEST_SS_LIMIT"),
    F(0x4806, 0, "GUEST_DS_LIMIT"),
    F(0x4808, 0, "GUEST_FS_LIMIT"),
    F(0x480a, 0, "GUEST_GS_LIMIT"),
    F(0x480c, 0, "GUEST_LDTR_LIMIT"),
    F(0x480e, 0, "GUEST_TR_LIMIT"),
    F(0x4810, 0, "GUEST_GDTR_LIMIT"),
    F(0x4812, 0, "GUEST_IDTR_LIMIT"),
    F(0x4814, 0, "GUEST_ES_AR_BYTES"),
    F(0x4816, 0, "GUEST_CS_AR_BYTES"),
    F(0x4818, 0, "GUEST_SS_AR_BYTES"),
    F(0x481a, 0, "GUEST_DS_AR_BYTES"),
    F(0x481c, 0, "GUEST_FS_AR_BYTES"),
    F(0x481e, 0, "GUEST_GS_AR_BYTES"),
    F(0x4820, 0, "GUEST_LDTR_AR_BYTES"),
    F(0x4822, 0, "GUEST_TR_AR_BYTES"),
    F(0x4824, 0, "GUEST_INTERRUPTIBILITY_INFO"),
    F(0x4826, 0, "GUEST_ACTIVITY_STATE"),
    F(0x4828, 0, "GUEST_SMBASE"),
    F(0x482a, 0, "GUEST_SYSENTER_CS"),
    F(0x482e, VMCS12_F_PREEMPT, "VMX_PREEMPTION_TIMER_VALUE"),
    /* 32-bit host state */
    F(0x4c00, 0, "HOST_IA32_SYSENTER_CS"),
    /* natural-width control */
    F(0x6000, 0, "CR0_GUEST_HOST_MASK"),
    F(0x6002, 0, "CR4_GUEST_HOST_MASK"),
    F(0x6004, 0, "CR0_READ_SHADOW"),
    F(0x6006, 0, "CR4_READ_SHADOW"),
    F(0x6008, 0, "CR3_TARGET_VALUE0"),
    F(0x600a, 0, "CR3_TARGET_VALUE1"),
    F(0x600c, 0, "CR3_TARGET_VALUE2"),
    F(0x600e, 0, "CR3_TARGET_VALUE3"),
    /* natural-width read-only data */
    F(0x6400, 0, "EXIT_QUALIFICATION"),
    F(0x6402, 0, "IO_RCX"),
    F(0x6404, 0, "IO_RSI"),
    F(0x6406, 0, "IO_RDI"),
    F(0x6408, 0, "IO_RIP"),
    F(0x640a, 0, "GUEST_LINEAR_ADDRESS"),
    /* natural-width guest state */
    F(0x6800, 0, "GUEST_CR0"),
    F(0x6802, 0, "GUEST_CR3"),
    F(0x6804, 0, "GUEST_CR4"),
    F(0x6806, 0, "GUEST_ES_BASE"),
    F(0x6808, 0, "GUEST_CS_BASE"),
    F(0x680a, 0, "GUEST_SS_BASE"),
    F(0x680c, 0, "GUEST_DS_BASE"),
    F(0x680e, 0, "GUEST_FS_BASE"),
    F(0x6810, 0, "GUEST_GS_BASE"),
    F(0x6812, 0, "GUEST_LDTR_BASE"),
    F(0x6814, 0, "GUEST_TR_BASE"),
    F(0x6816, 0, "GUEST_GDTR_BASE"),
    F(0x6818, 0, "GUEST_IDTR_BASE"),
    F(0x681a, 0, "GUEST_DR7"),
    F(0x681c, 0, "GUEST_RSP"),
    F(0x681e, 0, "GUEST_RIP"),
    F(0x6820, 0, "GUEST_RFLAGS"),
    F(0x6822, 0, "GUEST_PENDING_DBG_EXCEPTIONS"),
    F(0x6824, 0, "GUEST_SYSENTER_ESP"),
    F(0x6826, 0, "GUEST_SYSENTER_EIP"),
    /* natural-width host state */
    F(0x6c00, 0, "HOST_CR0"),
    F(0x6c02, 0, "HOST_CR3"),
    F(0x6c04, 0, "HOST_CR4"),
    F(0x6c06, 0, "HOST_FS_BASE"),
    F(0x6c08, 0, "HOST_GS_BASE"),
    F(0x6c0a, 0, "HOST_TR_BASE"),
    F(0x6c0c, 0, "HOST_GDTR_BASE"),
    F(0x6c0e, 0, "HOST_IDTR_BASE"),
    F(0x6c10, 0, "HOST_IA32_SYSENTER_ESP"),
    F(0x6c12, 0, "HOST_IA32_SYSENTER_EIP"),
    F(0x6c14, 0, "HOST_RSP"),
    F(0x6c16, 0, "HOST_RIP"),
};

_Static_assert(VMCS12_SIZE <= VMCS12_REGION_SIZE, "vmcs12 layout fits the region");

/* O(1) lookup: slot[width][type][index] holds 1 + the table position
 * (0 = no field).  Every field's index (encoding bits 9:1) is below 32.
 * Built on first use; the hv's nested entry and exit paths read fields on
 * every L2 exit, so this is hot. */
#define IDX_LIMIT 32
static uint8_t slot[4][4][IDX_LIMIT];
static bool slot_ready;

static void build_slots(void)
{
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        slot[vmcs_enc_width(e)][vmcs_enc_type(e)][vmcs_enc_index(e)] = (uint8_t)(i + 1);
    }
    slot_ready = true;
}

_Static_assert(VMCS12_NR_FIELDS < 255, "slot fits a byte");

static const struct vmcs12_field *find(uint32_t enc)
{
    if (unlikely(!slot_ready))
        build_slots();
    unsigned idx = vmcs_enc_index(enc);
    if ((enc & ~0x6ffeu) || idx >= IDX_LIMIT)
        return NULL;
    unsigned s = slot[vmcs_enc_width(enc)][vmcs_enc_type(enc)][idx];
    return s ? &vmcs12_fields[s - 1] : NULL;
}

const struct vmcs12_field *vmcs12_lookup(uint64_t encoding, unsigned features)
{
    /* Bits 63:15 and bit 12 are reserved in an encoding: no field has them. */
    if (encoding & ~(uint64_t)0x6fff)
        return NULL;
    if (vmcs_enc_high(encoding) && vmcs_enc_width(encoding) != VMCS_W64)
        return NULL;
    const struct vmcs12_field *f = find((uint32_t)encoding & ~1u);
    if (!f || (f->feature & ~features))
        return NULL;
    return f;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void store64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

int vmcs12_read(const uint8_t *vmcs, uint64_t encoding, unsigned features, uint64_t *val)
{
    const struct vmcs12_field *f = vmcs12_lookup(encoding, features);
    if (!f)
        return VMXERR_UNSUPPORTED_FIELD;
    uint64_t v = load64(vmcs + vmcs12_offset(f));
    *val = vmcs_enc_high(encoding) ? v >> 32 : v;
    return 0;
}

static uint64_t truncate_to_width(unsigned width, uint64_t v)
{
    switch (width) {
    case VMCS_W16: return v & 0xffff;
    case VMCS_W32: return v & 0xffffffff;
    default:       return v;
    }
}

int vmcs12_write(uint8_t *vmcs, uint64_t encoding, unsigned features, uint64_t val,
                 bool exit_info_writable)
{
    const struct vmcs12_field *f = vmcs12_lookup(encoding, features);
    if (!f)
        return VMXERR_UNSUPPORTED_FIELD;
    if (vmcs_enc_type(encoding) == VMCS_T_EXIT_INFO && !exit_info_writable)
        return VMXERR_READ_ONLY_FIELD;
    uint8_t *p = vmcs + vmcs12_offset(f);
    if (vmcs_enc_high(encoding))
        store64(p, (load64(p) & 0xffffffffull) | (val << 32));
    else
        store64(p, truncate_to_width(vmcs_enc_width(encoding), val));
    return 0;
}

uint64_t vmcs12_get(const uint8_t *vmcs, uint32_t encoding)
{
    const struct vmcs12_field *f = find(encoding);
    return f ? load64(vmcs + vmcs12_offset(f)) : 0;
}

void vmcs12_set(uint8_t *vmcs, uint32_t encoding, uint64_t val)
{
    const struct vmcs12_field *f = find(encoding);
    if (f)
        store64(vmcs + vmcs12_offset(f), truncate_to_width(vmcs_enc_width(encoding), val));
}

unsigned vmcs12_max_index(unsigned features)
{
    unsigned max = 0;
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++)
        if (!(vmcs12_fields[i].feature & ~features))
            max = MAX(max, vmcs_enc_index(vmcs12_fields[i].encoding));
    return max;
}

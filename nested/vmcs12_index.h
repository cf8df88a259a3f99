/* The position of each vmcs12 field in vmcs12_fields[] (the layout), as a
 * switch the compiler folds to a constant for a constant encoding: the hot
 * paths of nested/ read and write fields with one instruction.  Generated
 * from the table in vmcs12.c; test_vmcs12 checks the two agree. */
#ifndef NESTED_VMCS12_INDEX_H
#define NESTED_VMCS12_INDEX_H

#include "vmcs12.h"

static inline __attribute__((always_inline)) int vmcs12_index_of(uint32_t enc)
{
    switch (enc) {
    case 0x0000: return 0;   /* VPID */
    case 0x0800: return 1;   /* GUEST_ES_SELECTOR */
    case 0x0802: return 2;   /* GUEST_CS_SELECTOR */
    case 0x0804: return 3;   /* GUEST_SS_SELECTOR */
    case 0x0806: return 4;   /* GUEST_DS_SELECTOR */
    case 0x0808: return 5;   /* GUEST_FS_SELECTOR */
    case 0x080a: return 6;   /* GUEST_GS_SELECTOR */
    case 0x080c: return 7;   /* GUEST_LDTR_SELECTOR */
    case 0x080e: return 8;   /* GUEST_TR_SELECTOR */
    case 0x0812: return 9;   /* GUEST_PML_INDEX */
    case 0x0c00: return 10;   /* HOST_ES_SELECTOR */
    case 0x0c02: return 11;   /* HOST_CS_SELECTOR */
    case 0x0c04: return 12;   /* HOST_SS_SELECTOR */
    case 0x0c06: return 13;   /* HOST_DS_SELECTOR */
    case 0x0c08: return 14;   /* HOST_FS_SELECTOR */
    case 0x0c0a: return 15;   /* HOST_GS_SELECTOR */
    case 0x0c0c: return 16;   /* HOST_TR_SELECTOR */
    case 0x2000: return 17;   /* IO_BITMAP_A */
    case 0x2002: return 18;   /* IO_BITMAP_B */
    case 0x2004: return 19;   /* MSR_BITMAP */
    case 0x2006: return 20;   /* VM_EXIT_MSR_STORE_ADDR */
    case 0x2008: return 21;   /* VM_EXIT_MSR_LOAD_ADDR */
    case 0x200a: return 22;   /* VM_ENTRY_MSR_LOAD_ADDR */
    case 0x200c: return 23;   /* EXECUTIVE_VMCS_POINTER */
    case 0x200e: return 24;   /* PML_ADDRESS */
    case 0x2010: return 25;   /* TSC_OFFSET */
    case 0x2018: return 26;   /* VM_FUNCTION_CONTROLS */
    case 0x201a: return 27;   /* EPT_POINTER */
    case 0x2026: return 28;   /* VMREAD_BITMAP */
    case 0x2028: return 29;   /* VMWRITE_BITMAP */
    case 0x2400: return 30;   /* GUEST_PHYSICAL_ADDRESS */
    case 0x2800: return 31;   /* VMCS_LINK_POINTER */
    case 0x2802: return 32;   /* GUEST_IA32_DEBUGCTL */
    case 0x2804: return 33;   /* GUEST_IA32_PAT */
    case 0x2806: return 34;   /* GUEST_IA32_EFER */
    case 0x280a: return 35;   /* GUEST_PDPTE0 */
    case 0x280c: return 36;   /* GUEST_PDPTE1 */
    case 0x280e: return 37;   /* GUEST_PDPTE2 */
    case 0x2810: return 38;   /* GUEST_PDPTE3 */
    case 0x2c00: return 39;   /* HOST_IA32_PAT */
    case 0x2c02: return 40;   /* HOST_IA32_EFER */
    case 0x4000: return 41;   /* PIN_BASED_VM_EXEC_CONTROL */
    case 0x4002: return 42;   /* CPU_BASED_VM_EXEC_CONTROL */
    case 0x4004: return 43;   /* EXCEPTION_BITMAP */
    case 0x4006: return 44;   /* PAGE_FAULT_ERROR_CODE_MASK */
    case 0x4008: return 45;   /* PAGE_FAULT_ERROR_CODE_MATCH */
    case 0x400a: return 46;   /* CR3_TARGET_COUNT */
    case 0x400c: return 47;   /* VM_EXIT_CONTROLS */
    case 0x400e: return 48;   /* VM_EXIT_MSR_STORE_COUNT */
    case 0x4010: return 49;   /* VM_EXIT_MSR_LOAD_COUNT */
    case 0x4012: return 50;   /* VM_ENTRY_CONTROLS */
    case 0x4014: return 51;   /* VM_ENTRY_MSR_LOAD_COUNT */
    case 0x4016: return 52;   /* VM_ENTRY_INTR_INFO */
    case 0x4018: return 53;   /* VM_ENTRY_EXCEPTION_ERROR_CODE */
    case 0x401a: return 54;   /* VM_ENTRY_INSTRUCTION_LEN */
    case 0x401e: return 55;   /* SECONDARY_VM_EXEC_CONTROL */
    case 0x4020: return 56;   /* PLE_GAP */
    case 0x4022: return 57;   /* PLE_WINDOW */
    case 0x4400: return 58;   /* VM_INSTRUCTION_ERROR */
    case 0x4402: return 59;   /* VM_EXIT_REASON */
    case 0x4404: return 60;   /* VM_EXIT_INTR_INFO */
    case 0x4406: return 61;   /* VM_EXIT_INTR_ERROR_CODE */
    case 0x4408: return 62;   /* IDT_VECTORING_INFO */
    case 0x440a: return 63;   /* IDT_VECTORING_ERROR_CODE */
    case 0x440c: return 64;   /* VM_EXIT_INSTRUCTION_LEN */
    case 0x440e: return 65;   /* VMX_INSTRUCTION_INFO */
    case 0x4800: return 66;   /* GUEST_ES_LIMIT */
    case 0x4802: return 67;   /* GUEST_CS_LIMIT */
    case 0x4804: return 68;   /* GUEST_SS_LIMIT */
    case 0x4806: return 69;   /* GUEST_DS_LIMIT */
    case 0x4808: return 70;   /* GUEST_FS_LIMIT */
    case 0x480a: return 71;   /* GUEST_GS_LIMIT */
    case 0x480c: return 72;   /* GUEST_LDTR_LIMIT */
    case 0x480e: return 73;   /* GUEST_TR_LIMIT */
    case 0x4810: return 74;   /* GUEST_GDTR_LIMIT */
    case 0x4812: return 75;   /* GUEST_IDTR_LIMIT */
    case 0x4814: return 76;   /* GUEST_ES_AR_BYTES */
    case 0x4816: return 77;   /* GUEST_CS_AR_BYTES */
    case 0x4818: return 78;   /* GUEST_SS_AR_BYTES */
    case 0x481a: return 79;   /* GUEST_DS_AR_BYTES */
    case 0x481c: return 80;   /* GUEST_FS_AR_BYTES */
    case 0x481e: return 81;   /* GUEST_GS_AR_BYTES */
    case 0x4820: return 82;   /* GUEST_LDTR_AR_BYTES */
    case 0x4822: return 83;   /* GUEST_TR_AR_BYTES */
    case 0x4824: return 84;   /* GUEST_INTERRUPTIBILITY_INFO */
    case 0x4826: return 85;   /* GUEST_ACTIVITY_STATE */
    case 0x4828: return 86;   /* GUEST_SMBASE */
    case 0x482a: return 87;   /* GUEST_SYSENTER_CS */
    case 0x482e: return 88;   /* VMX_PREEMPTION_TIMER_VALUE */
    case 0x4c00: return 89;   /* HOST_IA32_SYSENTER_CS */
    case 0x6000: return 90;   /* CR0_GUEST_HOST_MASK */
    case 0x6002: return 91;   /* CR4_GUEST_HOST_MASK */
    case 0x6004: return 92;   /* CR0_READ_SHADOW */
    case 0x6006: return 93;   /* CR4_READ_SHADOW */
    case 0x6008: return 94;   /* CR3_TARGET_VALUE0 */
    case 0x600a: return 95;   /* CR3_TARGET_VALUE1 */
    case 0x600c: return 96;   /* CR3_TARGET_VALUE2 */
    case 0x600e: return 97;   /* CR3_TARGET_VALUE3 */
    case 0x6400: return 98;   /* EXIT_QUALIFICATION */
    case 0x6402: return 99;   /* IO_RCX */
    case 0x6404: return 100;   /* IO_RSI */
    case 0x6406: return 101;   /* IO_RDI */
    case 0x6408: return 102;   /* IO_RIP */
    case 0x640a: return 103;   /* GUEST_LINEAR_ADDRESS */
    case 0x6800: return 104;   /* GUEST_CR0 */
    case 0x6802: return 105;   /* GUEST_CR3 */
    case 0x6804: return 106;   /* GUEST_CR4 */
    case 0x6806: return 107;   /* GUEST_ES_BASE */
    case 0x6808: return 108;   /* GUEST_CS_BASE */
    case 0x680a: return 109;   /* GUEST_SS_BASE */
    case 0x680c: return 110;   /* GUEST_DS_BASE */
    case 0x680e: return 111;   /* GUEST_FS_BASE */
    case 0x6810: return 112;   /* GUEST_GS_BASE */
    case 0x6812: return 113;   /* GUEST_LDTR_BASE */
    case 0x6814: return 114;   /* GUEST_TR_BASE */
    case 0x6816: return 115;   /* GUEST_GDTR_BASE */
    case 0x6818: return 116;   /* GUEST_IDTR_BASE */
    case 0x681a: return 117;   /* GUEST_DR7 */
    case 0x681c: return 118;   /* GUEST_RSP */
    case 0x681e: return 119;   /* GUEST_RIP */
    case 0x6820: return 120;   /* GUEST_RFLAGS */
    case 0x6822: return 121;   /* GUEST_PENDING_DBG_EXCEPTIONS */
    case 0x6824: return 122;   /* GUEST_SYSENTER_ESP */
    case 0x6826: return 123;   /* GUEST_SYSENTER_EIP */
    case 0x6c00: return 124;   /* HOST_CR0 */
    case 0x6c02: return 125;   /* HOST_CR3 */
    case 0x6c04: return 126;   /* HOST_CR4 */
    case 0x6c06: return 127;   /* HOST_FS_BASE */
    case 0x6c08: return 128;   /* HOST_GS_BASE */
    case 0x6c0a: return 129;   /* HOST_TR_BASE */
    case 0x6c0c: return 130;   /* HOST_GDTR_BASE */
    case 0x6c0e: return 131;   /* HOST_IDTR_BASE */
    case 0x6c10: return 132;   /* HOST_IA32_SYSENTER_ESP */
    case 0x6c12: return 133;   /* HOST_IA32_SYSENTER_EIP */
    case 0x6c14: return 134;   /* HOST_RSP */
    case 0x6c16: return 135;   /* HOST_RIP */
    default: return -1;
    }
}

/* The field `enc` (a constant, full access) of a cached vmcs12.  A
 * non-constant encoding does not compile (use vmcs12_get/vmcs12_set). */
#define V12_CONST(enc) (0 * sizeof(char[__builtin_constant_p(enc) ? 1 : -1]))
#define V12(vmcs, enc) (*(uint64_t *)((uint8_t *)(uintptr_t)(vmcs) + VMCS12_OFF_FIELDS + \
                                      8 * vmcs12_index_of(enc) + V12_CONST(enc)))

#endif

/* Which L2 exits L1 asked for (SDM Vol. 3, 26.1-26.2), from vmcs12.
 * Pure; unit-tested. */
#include "exit_reflect.h"
#include "vmcs12.h"
#include "vmcs12_index.h"
#include "vmcs_fields.h"

/* Basic exit reasons used here (SDM Appendix C). */
enum {
    R_EXC_NMI = 0, R_EXT_INTR = 1, R_TRIPLE = 2, R_INTR_WINDOW = 7, R_NMI_WINDOW = 8,
    R_HLT = 12, R_INVLPG = 14, R_RDPMC = 15, R_RDTSC = 16, R_CR = 28, R_DR = 29,
    R_IO = 30, R_RDMSR = 31, R_WRMSR = 32, R_MWAIT = 36, R_MTF = 37, R_MONITOR = 39,
    R_PAUSE = 40, R_GDTR_IDTR = 46, R_LDTR_TR = 47, R_RDTSCP = 51, R_WBINVD = 54,
    R_RDRAND = 57, R_INVPCID = 58, R_RDSEED = 61,
};

static uint32_t proc(const uint8_t *v12) { return (uint32_t)V12(v12, VMCS_PROC_CONTROLS); }

/* Secondary controls count only when activated (SDM 25.6.2). */
static uint32_t proc2(const uint8_t *v12)
{
    return (proc(v12) & PROC_ACTIVATE_SECONDARY) ? (uint32_t)V12(v12, VMCS_PROC_CONTROLS2) : 0;
}

static bool read_bit(const struct l1_reader *rd, uint64_t base, uint64_t bit)
{
    uint8_t byte;
    /* A bitmap L1 placed outside its memory reads as all ones (no RAM
     * answers there): the access exits to L1, never passes through. */
    if (rd->read(rd->ctx, base + bit / 8, &byte, 1))
        return true;
    return byte & (1u << (bit % 8));
}

bool nested_vmcs_field_exits(const uint8_t *v12, uint64_t enc, bool write, const struct l1_reader *rd)
{
    if (!(proc2(v12) & PROC2_VMCS_SHADOWING) || (enc >> 15))
        return true;
    return read_bit(rd, V12(v12, write ? VMCS_VMWRITE_BITMAP : VMCS_VMREAD_BITMAP), enc);
}

/* 26.1.3: with "use I/O bitmaps" any bit of the accessed ports, or an
 * access wrapping past 0xffff, exits; else "unconditional I/O exiting". */
bool nested_io_exits(const uint8_t *v12, uint16_t port, unsigned size, const struct l1_reader *rd)
{
    if (!(proc(v12) & PROC_USE_IO_BITMAPS))
        return proc(v12) & PROC_UNCOND_IO_EXITING;
    if ((uint32_t)port + size - 1 > 0xffff)
        return true;
    for (uint32_t p = port; p < (uint32_t)port + size; p++) {
        uint64_t base = p < 0x8000 ? V12(v12, VMCS_IO_BITMAP_A) : V12(v12, VMCS_IO_BITMAP_B);
        if (read_bit(rd, base, p & 0x7fff))
            return true;
    }
    return false;
}

/* 25.6.9: four 1 KiB bitmaps (read low, read high, write low, write
 * high); MSRs outside 0-0x1fff and 0xc0000000-0xc0001fff always exit. */
bool nested_msr_exits(const uint8_t *v12, uint32_t msr, bool write, const struct l1_reader *rd)
{
    if (!(proc(v12) & PROC_USE_MSR_BITMAPS))
        return true;
    uint64_t off;
    if (msr <= 0x1fff)
        off = 0;
    else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
        off = 1024;
    else
        return true;
    if (write)
        off += 2048;
    return read_bit(rd, V12(v12, VMCS_MSR_BITMAP), off * 8 + (msr & 0x1fff));
}

/* 26.1.3, control-register accesses; the qualification's layout is
 * SDM table 28-3. */
bool nested_cr_exits(const uint8_t *v12, uint64_t qual, uint64_t source)
{
    unsigned cr = qual & 0xf, type = (qual >> 4) & 3;
    uint64_t mask0 = V12(v12, VMCS_CR0_GUEST_HOST_MASK);
    uint64_t shadow0 = V12(v12, VMCS_CR0_READ_SHADOW);

    switch (type) {
    case 0:     /* MOV to CR */
        if (cr == 0)
            return (source ^ shadow0) & mask0;
        if (cr == 4)
            return (source ^ V12(v12, VMCS_CR4_READ_SHADOW)) &
                   V12(v12, VMCS_CR4_GUEST_HOST_MASK);
        if (cr == 3) {
            if (!(proc(v12) & PROC_CR3_LOAD_EXITING))
                return false;
            uint64_t n = V12(v12, VMCS_CR3_TARGET_COUNT);
            for (uint64_t i = 0; i < n && i < 4; i++)
                if (vmcs12_get(v12, (uint32_t)(VMCS_CR3_TARGET0 + 2 * i)) == source)
                    return false;
            return true;
        }
        if (cr == 8)
            return proc(v12) & PROC_CR8_LOAD_EXITING;
        return true;
    case 1:     /* MOV from CR */
        if (cr == 3)
            return proc(v12) & PROC_CR3_STORE_EXITING;
        if (cr == 8)
            return proc(v12) & PROC_CR8_STORE_EXITING;
        return true;
    case 2:     /* CLTS */
        return (mask0 & BIT(3) /* CR0.TS */) && (shadow0 & BIT(3) /* CR0.TS */);
    default: {  /* LMSW: only PE, MP, EM, TS; it cannot clear PE */
        uint64_t src = (qual >> 16) & 0xffff;
        if ((mask0 & 1) && !(shadow0 & 1) && (src & 1))
            return true;
        return (mask0 & 0xe) & (src ^ shadow0);
    }
    }
}

/* 25.2: the exception bitmap; for #PF the error-code mask and match
 * decide together with bit 14.  NMIs exit with "NMI exiting". */
bool nested_exception_exits(const uint8_t *v12, uint32_t intr_info, uint32_t error)
{
    unsigned type = (intr_info >> 8) & 7, vector = intr_info & 0xff;
    if (type == 2)
        return V12(v12, VMCS_PIN_CONTROLS) & PIN_NMI_EXITING;
    bool in_bitmap = (V12(v12, VMCS_EXCEPTION_BITMAP) >> (vector & 31)) & 1;
    if (vector != 14)
        return in_bitmap;
    uint32_t mask = (uint32_t)V12(v12, VMCS_PF_ERROR_MASK);
    uint32_t match = (uint32_t)V12(v12, VMCS_PF_ERROR_MATCH);
    return ((error & mask) == match) == in_bitmap;
}

enum reflect nested_exit_owner(const struct l2_exit *e, const uint8_t *v12,
                               const struct l1_reader *rd)
{
    uint32_t p = proc(v12), p2 = proc2(v12);
    bool l1;
    switch (e->reason) {
    case R_EXC_NMI:     l1 = nested_exception_exits(v12, e->intr_info, e->intr_error); break;
    case R_INTR_WINDOW: l1 = p & PROC_INTR_WINDOW_EXITING; break;
    case R_NMI_WINDOW:  l1 = p & PROC_NMI_WINDOW_EXITING; break;
    case R_HLT:         l1 = p & PROC_HLT_EXITING; break;
    case R_INVLPG:      l1 = p & PROC_INVLPG_EXITING; break;
    case R_RDPMC:       l1 = p & PROC_RDPMC_EXITING; break;
    case R_RDTSC:       l1 = p & PROC_RDTSC_EXITING; break;
    /* 26.1.3: only with "enable RDTSCP" too (without it RDTSCP is #UD). */
    case R_RDTSCP:      l1 = (p & PROC_RDTSC_EXITING) && (p2 & PROC2_ENABLE_RDTSCP); break;
    case R_CR:          l1 = nested_cr_exits(v12, e->qual, e->cr_source); break;
    case R_DR:          l1 = p & PROC_MOV_DR_EXITING; break;
    case R_IO:          l1 = nested_io_exits(v12, (uint16_t)(e->qual >> 16), (e->qual & 7) + 1, rd); break;
    case R_RDMSR:       l1 = nested_msr_exits(v12, (uint32_t)e->rcx, false, rd); break;
    case R_WRMSR:       l1 = nested_msr_exits(v12, (uint32_t)e->rcx, true, rd); break;
    case R_MWAIT:       l1 = p & PROC_MWAIT_EXITING; break;
    case R_MTF:         l1 = p & PROC_MONITOR_TRAP_FLAG; break;
    case R_MONITOR:     l1 = p & PROC_MONITOR_EXITING; break;
    case R_PAUSE:       l1 = (p & PROC_PAUSE_EXITING) || (p2 & PROC2_PAUSE_LOOP_EXITING); break;
    case R_GDTR_IDTR:
    case R_LDTR_TR:     l1 = p2 & PROC2_DESC_TABLE_EXITING; break;
    case R_WBINVD:      l1 = p2 & PROC2_WBINVD_EXITING; break;
    case R_RDRAND:      l1 = p2 & PROC2_RDRAND_EXITING; break;
    case R_RDSEED:      l1 = p2 & PROC2_RDSEED_EXITING; break;
    case R_INVPCID:     l1 = (p & PROC_INVLPG_EXITING) && (p2 & PROC2_ENABLE_INVPCID); break;
    default:            l1 = true; break;   /* CPUID, VMX instructions, triple fault, ... */
    }
    return l1 ? REFLECT_L1 : REFLECT_L0;
}

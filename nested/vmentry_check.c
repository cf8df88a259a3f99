/* VM-entry checks on a vmcs12 (Intel SDM Vol. 3, 27.2 and 27.3.1).  Pure.
 *
 * Each group of checks is one function that returns true when its checks
 * pass, or false with *x->why naming the first that failed.  The comment
 * before each REQUIRE quotes or paraphrases the SDM bullet it implements.
 * Secondary controls count only when "activate secondary controls" is 1
 * (else they are all 0, SDM 27.2.1.1).  Canonical means 48-bit: L1 and L2
 * have no 5-level paging (CPUID LA57 hidden, CR4.LA57 not in
 * IA32_VMX_CR4_FIXED1). */
#include "vmentry_check.h"
#include "msr_rules.h"
#include "vmcs12_index.h"
#include "vmcs12.h"
#include "vmcs_fields.h"
#include "vmx_operand.h"
#include "x86.h"

#define REQUIRE(cond, msg)              \
    do {                                \
        if (!(cond)) {                  \
            *x->why = (msg);            \
            return false;               \
        }                               \
    } while (0)

/* Interruption types (SDM 25.8.3, VM-entry interruption-information field). */
enum { IT_EXT = 0, IT_RESERVED = 1, IT_NMI = 2, IT_HW_EXC = 3, IT_SW_INT = 4,
       IT_PRIV_SW_EXC = 5, IT_SW_EXC = 6, IT_OTHER = 7 };
#define INFO_TYPE(i)    (((i) >> 8) & 7)
#define INFO_VECTOR(i)  ((i) & 0xff)

#define BASIC_ANY_ERROR_CODE BIT(56)    /* IA32_VMX_BASIC[56] */
#define MISC_ZERO_LEN_INJECT BIT(30)    /* IA32_VMX_MISC[30] */
#define ENTRY_SMM            BIT(10)
#define ENTRY_DEACT_DUAL     BIT(11)
#define RFLAGS_FIXED1        BIT(1)
#define RFLAGS_RESERVED0     (BIT(3) | BIT(5) | BIT(15) | ~0x3fffffull)

/* Interruptibility state (SDM 25.4.2, guest non-register state). */
#define INTR_STI             BIT(0)
#define INTR_MOV_SS          BIT(1)
#define INTR_SMI             BIT(2)
#define INTR_NMI             BIT(3)
#define INTR_ENCLAVE         BIT(4)

/* Pending debug exceptions (SDM 25.4.2). */
#define PDE_BS               BIT(14)
#define PDE_RTM              BIT(16)
#define PDE_RESERVED         (0xff0ull | BIT(13) | BIT(15) | ~0x1ffffull)

/* Access rights (SDM 25.4.1, guest register state). */
#define AR_TYPE(ar)          ((ar) & 0xf)
#define AR_S                 BIT(4)
#define AR_DPL(ar)           (((ar) >> 5) & 3)
#define AR_P                 BIT(7)
#define AR_RSVD_11_8         0xf00u
#define AR_L                 BIT(13)
#define AR_DB                BIT(14)
#define AR_G                 BIT(15)
#define AR_UNUSABLE          BIT(16)
#define AR_RSVD_31_17        0xfffe0000u

struct ectx {
    const struct nested_caps *c;
    const uint8_t *v;
    const char **why;
    uint32_t pin, proc, proc2, exit, entry;
};

/* Encodings are constants here: V12 folds to one load. */
#define get(x, enc) V12((x)->v, (enc))

static struct ectx ectx_init(const struct nested_caps *c, const uint8_t *v, const char **why)
{
    struct ectx x = { .c = c, .v = v, .why = why };
    x.pin = (uint32_t)V12(v, VMCS_PIN_CONTROLS);
    x.proc = (uint32_t)V12(v, VMCS_PROC_CONTROLS);
    /* SDM 27.2.1.1: with "activate secondary controls" = 0 the logical
     * processor operates as if all secondary controls were 0. */
    x.proc2 = (x.proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)V12(v, VMCS_PROC_CONTROLS2) : 0;
    x.exit = (uint32_t)V12(v, VMCS_EXIT_CONTROLS);
    x.entry = (uint32_t)V12(v, VMCS_ENTRY_CONTROLS);
    return x;
}

/* ---- helpers ------------------------------------------------------------ */

/* A control value against its capability MSR (SDM A.3-A.5): every bit
 * the allowed-0 settings (bits 31:0) require is 1, every 1 is allowed by
 * the allowed-1 settings (bits 63:32). */
static bool control_ok(uint64_t cap, uint32_t val)
{
    uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
    return (val & must1) == must1 && !(val & ~may1);
}

/* The capability MSR for a control: the TRUE one when IA32_VMX_BASIC[55]
 * says it exists (SDM A.2). */
static uint64_t control_cap(const struct nested_caps *c, uint32_t msr, uint32_t true_msr)
{
    return nested_cap(c, (nested_cap(c, MSR_VMX_BASIC) & BASIC_TRUE_CTLS) ? true_msr : msr);
}

static bool within_width(const struct nested_caps *c, uint64_t pa)
{
    return c->maxphyaddr >= 64 || !(pa >> c->maxphyaddr);
}

/* An MSR-load/store area (SDM 27.2.1.2/27.2.1.3): with a nonzero count,
 * the address is 16-byte aligned and neither it nor the area's last byte
 * (address + count * 16 - 1, computed with more bits) is beyond the
 * physical-address width. */
static bool msr_area_ok(const struct ectx *x, uint32_t addr_enc, uint32_t count_enc,
                        const char *unaligned, const char *wide)
{
    uint64_t count = (uint32_t)get(x, count_enc), addr = get(x, addr_enc);
    if (!count)
        return true;
    REQUIRE(IS_ALIGNED(addr, 16), unaligned);
    uint64_t last = addr + count * 16 - 1;
    REQUIRE(within_width(x->c, addr) && last > addr && within_width(x->c, last), wide);
    return true;
}

/* Hardware exceptions that deliver an error code (SDM 6.3.1, 27.2.1.3):
 * #DF, #TS, #NP, #SS, #GP, #PF, #AC.  (#CP, 21, needs CET, hidden.) */
static bool exception_has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

/* CR0/CR4 against the FIXED0/FIXED1 MSRs (SDM 24.8, A.7, A.8), ignoring
 * the bits in `skip`. */
static bool fixed_ok(uint64_t val, uint64_t fixed0, uint64_t fixed1, uint64_t skip)
{
    return !((fixed0 & ~val) & ~skip) && !((val & ~fixed1) & ~skip);
}

/* ---- 27.2.1.1 VM-execution control fields ------------------------------- */

static bool exec_reserved_ok(const struct ectx *x)
{
    const struct nested_caps *c = x->c;
    /* Reserved bits in the pin-based controls must be set properly (A.3.1). */
    REQUIRE(control_ok(control_cap(c, MSR_VMX_PINBASED, MSR_VMX_TRUE_PINBASED), x->pin),
            "pin-based VM-execution controls not allowed by IA32_VMX_TRUE_PINBASED_CTLS");
    /* Reserved bits in the primary processor-based controls (A.3.2). */
    REQUIRE(control_ok(control_cap(c, MSR_VMX_PROCBASED, MSR_VMX_TRUE_PROCBASED), x->proc),
            "primary processor-based VM-execution controls not allowed by "
            "IA32_VMX_TRUE_PROCBASED_CTLS");
    /* With "activate secondary controls", reserved bits in the secondary
     * controls must be cleared (A.3.3); x->proc2 is 0 otherwise. */
    REQUIRE(control_ok(nested_cap(c, MSR_VMX_PROCBASED2), x->proc2),
            "secondary processor-based VM-execution controls not allowed by "
            "IA32_VMX_PROCBASED_CTLS2");
    /* The CR3-target count must not be greater than IA32_VMX_MISC[24:16]. */
    REQUIRE((uint32_t)get(x, VMCS_CR3_TARGET_COUNT) <= ((nested_cap(c, MSR_VMX_MISC) >> 16) & 0x1ff),
            "CR3-target count greater than IA32_VMX_MISC[24:16]");
    return true;
}

static bool exec_bitmaps_ok(const struct ectx *x)
{
    const struct nested_caps *c = x->c;
    if (x->proc & PROC_USE_IO_BITMAPS) {
        /* "Use I/O bitmaps": bits 11:0 of each I/O-bitmap address are 0
         * and neither sets a bit beyond the physical-address width. */
        uint64_t a = get(x, VMCS_IO_BITMAP_A), b = get(x, VMCS_IO_BITMAP_B);
        REQUIRE(IS_ALIGNED(a, PAGE_SIZE), "I/O bitmap A address not 4 KiB aligned");
        REQUIRE(within_width(c, a), "I/O bitmap A address beyond the physical-address width");
        REQUIRE(IS_ALIGNED(b, PAGE_SIZE), "I/O bitmap B address not 4 KiB aligned");
        REQUIRE(within_width(c, b), "I/O bitmap B address beyond the physical-address width");
    }
    if (x->proc & PROC_USE_MSR_BITMAPS) {
        /* "Use MSR bitmaps": the same for the MSR-bitmap address. */
        uint64_t m = get(x, VMCS_MSR_BITMAP);
        REQUIRE(IS_ALIGNED(m, PAGE_SIZE), "MSR-bitmap address not 4 KiB aligned");
        REQUIRE(within_width(c, m), "MSR-bitmap address beyond the physical-address width");
    }
    /* "Use TPR shadow", APIC virtualization and posted interrupts (the
     * virtual-APIC, APIC-access and posted-interrupt checks) are never
     * offered: exec_reserved_ok() refuses them. */
    return true;
}

static bool exec_nmi_ok(const struct ectx *x)
{
    /* If "NMI exiting" is 0, "virtual NMIs" must be 0. */
    REQUIRE((x->pin & PIN_NMI_EXITING) || !(x->pin & PIN_VIRTUAL_NMIS),
            "virtual NMIs without NMI exiting");
    /* If "virtual NMIs" is 0, "NMI-window exiting" must be 0. */
    REQUIRE((x->pin & PIN_VIRTUAL_NMIS) || !(x->proc & PROC_NMI_WINDOW_EXITING),
            "NMI-window exiting without virtual NMIs");
    return true;
}

static bool exec_secondary_ok(const struct ectx *x)
{
    const struct nested_caps *c = x->c;
    /* "Enable VPID": the VPID field must not be 0000H. */
    REQUIRE(!(x->proc2 & PROC2_ENABLE_VPID) || (uint16_t)get(x, VMCS_VPID) != 0,
            "VPID 0 with enable VPID");
    /* "Enable EPT": memory type, walk length, A/D flags, reserved bits and
     * width of the EPTP (nested_eptp_valid). */
    REQUIRE(!(x->proc2 & PROC2_ENABLE_EPT) || nested_eptp_valid(c, get(x, VMCS_EPT_POINTER)),
            "EPT pointer not valid");
    if (x->proc2 & PROC2_ENABLE_PML) {
        /* "Enable PML": "enable EPT" must be 1, and the PML address has
         * bits 11:0 clear and no bit beyond the physical-address width. */
        uint64_t pml = get(x, VMCS_PML_ADDRESS);
        REQUIRE(x->proc2 & PROC2_ENABLE_EPT, "enable PML without enable EPT");
        REQUIRE(IS_ALIGNED(pml, PAGE_SIZE), "PML address not 4 KiB aligned");
        REQUIRE(within_width(c, pml), "PML address beyond the physical-address width");
    }
    /* "Unrestricted guest" requires "enable EPT". */
    REQUIRE(!(x->proc2 & PROC2_UNRESTRICTED_GUEST) || (x->proc2 & PROC2_ENABLE_EPT),
            "unrestricted guest without enable EPT");
    /* "Enable VM functions": bits of the VM-function controls not set in
     * IA32_VMX_VMFUNC are reserved and must be 0 (Nestor offers none, so
     * EPTP switching and its EPTP-list checks never apply). */
    REQUIRE(!(x->proc2 & PROC2_ENABLE_VMFUNC) ||
            !(get(x, VMCS_VMFUNC_CONTROLS) & ~nested_cap(c, MSR_VMX_VMFUNC)),
            "VM-function controls not allowed by IA32_VMX_VMFUNC");
    if (x->proc2 & PROC2_VMCS_SHADOWING) {
        /* "VMCS shadowing": the VMREAD- and VMWRITE-bitmap addresses have
         * bits 11:0 clear and no bit beyond the physical-address width. */
        uint64_t r = get(x, VMCS_VMREAD_BITMAP), w = get(x, VMCS_VMWRITE_BITMAP);
        REQUIRE(IS_ALIGNED(r, PAGE_SIZE), "VMREAD-bitmap address not 4 KiB aligned");
        REQUIRE(within_width(c, r), "VMREAD-bitmap address beyond the physical-address width");
        REQUIRE(IS_ALIGNED(w, PAGE_SIZE), "VMWRITE-bitmap address not 4 KiB aligned");
        REQUIRE(within_width(c, w), "VMWRITE-bitmap address beyond the physical-address width");
    }
    /* EPT-violation #VE, SPP, mode-based EPT, PT, ENCLS/ENCLV exiting and
     * the other secondary controls with checks of their own are never
     * offered: exec_reserved_ok() refuses them. */
    return true;
}

/* ---- 27.2.1.2 VM-exit control fields ------------------------------------ */

static bool exit_controls_ok(const struct ectx *x)
{
    /* Reserved bits in the VM-exit controls must be set properly (A.4). */
    REQUIRE(control_ok(control_cap(x->c, MSR_VMX_EXIT, MSR_VMX_TRUE_EXIT), x->exit),
            "VM-exit controls not allowed by IA32_VMX_TRUE_EXIT_CTLS");
    /* If "activate VMX-preemption timer" is 0, "save VMX-preemption timer
     * value" must be 0. */
    REQUIRE((x->pin & PIN_PREEMPTION_TIMER) || !(x->exit & EXIT_SAVE_PREEMPTION_TIMER),
            "save VMX-preemption timer value without activate VMX-preemption timer");
    /* VM-exit MSR-store and MSR-load areas, when their counts are nonzero. */
    if (!msr_area_ok(x, VMCS_EXIT_MSR_STORE_ADDR, VMCS_EXIT_MSR_STORE_COUNT,
                     "VM-exit MSR-store address not 16-byte aligned",
                     "VM-exit MSR-store area beyond the physical-address width"))
        return false;
    return msr_area_ok(x, VMCS_EXIT_MSR_LOAD_ADDR, VMCS_EXIT_MSR_LOAD_COUNT,
                       "VM-exit MSR-load address not 16-byte aligned",
                       "VM-exit MSR-load area beyond the physical-address width");
}

/* ---- 27.2.1.3 VM-entry control fields ----------------------------------- */

static bool entry_reserved_ok(const struct ectx *x)
{
    /* Outside SMM, "entry to SMM" and "deactivate dual-monitor treatment"
     * must be 0 (L1 is never in SMM; neither control is offered). */
    REQUIRE(!(x->entry & ENTRY_SMM), "entry to SMM outside SMM");
    REQUIRE(!(x->entry & ENTRY_DEACT_DUAL), "deactivate dual-monitor treatment outside SMM");
    /* Reserved bits in the VM-entry controls must be set properly (A.5). */
    REQUIRE(control_ok(control_cap(x->c, MSR_VMX_ENTRY, MSR_VMX_TRUE_ENTRY), x->entry),
            "VM-entry controls not allowed by IA32_VMX_TRUE_ENTRY_CTLS");
    /* The VM-entry MSR-load area, when its count is nonzero. */
    return msr_area_ok(x, VMCS_ENTRY_MSR_LOAD_ADDR, VMCS_ENTRY_MSR_LOAD_COUNT,
                       "VM-entry MSR-load address not 16-byte aligned",
                       "VM-entry MSR-load area beyond the physical-address width");
}

/* The deliver-error-code bit of an injected event. */
static bool injection_error_code_ok(const struct ectx *x, uint32_t info)
{
    unsigned type = INFO_TYPE(info), vec = INFO_VECTOR(info);
    bool deliver = info & INTR_INFO_DELIVER_ERROR;
    /* Protected mode for this rule: "unrestricted guest" is 0, or the CR0
     * field has PE set. */
    bool prot = !(x->proc2 & PROC2_UNRESTRICTED_GUEST) || (get(x, VMCS_GUEST_CR0) & CR0_PE);
    if (nested_cap(x->c, MSR_VMX_BASIC) & BASIC_ANY_ERROR_CODE) {
        /* IA32_VMX_BASIC[56] = 1: an error code only for a hardware
         * exception in protected mode, for any vector. */
        REQUIRE(!deliver || (prot && type == IT_HW_EXC),
                "VM-entry deliver-error-code set for an event that cannot have one");
        return true;
    }
    /* The deliver-error-code bit (11) is 1 if and only if (1) "unrestricted
     * guest" is 0 or CR0.PE is 1, (2) the type is hardware exception, and
     * (3) the vector is one that delivers an error code (8, 10-14, 17). */
    bool want = prot && type == IT_HW_EXC && exception_has_error_code(vec);
    REQUIRE(deliver || !want, "VM-entry deliver-error-code clear for an exception with an error code");
    REQUIRE(!deliver || want, "VM-entry deliver-error-code set for an event without an error code");
    return true;
}

static bool injection_ok(const struct ectx *x)
{
    uint32_t info = (uint32_t)get(x, VMCS_ENTRY_INTR_INFO);
    if (!(info & INTR_INFO_VALID))
        return true;
    unsigned type = INFO_TYPE(info), vec = INFO_VECTOR(info);
    uint32_t proc1 = (uint32_t)(control_cap(x->c, MSR_VMX_PROCBASED, MSR_VMX_TRUE_PROCBASED) >> 32);
    /* The interruption type is not reserved: 1 always, 7 (other event)
     * without support for the 1-setting of "monitor trap flag". */
    REQUIRE(type != IT_RESERVED, "VM-entry interruption type 1 (reserved)");
    REQUIRE(type != IT_OTHER || (proc1 & PROC_MONITOR_TRAP_FLAG),
            "VM-entry interruption type 7 without monitor trap flag support");
    /* The vector is consistent with the type: NMI is 2, hardware exception
     * at most 31, other event 0 (pending MTF VM exit). */
    REQUIRE(type != IT_NMI || vec == 2, "VM-entry NMI with a vector other than 2");
    REQUIRE(type != IT_HW_EXC || vec <= 31, "VM-entry hardware exception with a vector above 31");
    REQUIRE(type != IT_OTHER || vec == 0, "VM-entry other event with a vector other than 0");
    if (!injection_error_code_ok(x, info))
        return false;
    /* Reserved bits 30:12 are 0. */
    REQUIRE(!(info & 0x7ffff000u), "VM-entry interruption-information bits 30:12 not 0");
    /* With deliver-error-code, bits 31:16 of the VM-entry exception error
     * code are 0. */
    REQUIRE(!(info & INTR_INFO_DELIVER_ERROR) || !(get(x, VMCS_ENTRY_EXCEPTION_ERROR) & 0xffff0000u),
            "VM-entry exception error code bits 31:16 not 0");
    if (type == IT_SW_INT || type == IT_PRIV_SW_EXC || type == IT_SW_EXC) {
        /* Software interrupt, privileged software exception and software
         * exception: the VM-entry instruction length is in 0-15, and 0
         * only if IA32_VMX_MISC[30] is 1. */
        uint32_t len = (uint32_t)get(x, VMCS_ENTRY_INSTR_LEN);
        REQUIRE(len <= 15, "VM-entry instruction length above 15");
        REQUIRE(len || (nested_cap(x->c, MSR_VMX_MISC) & MISC_ZERO_LEN_INJECT),
                "VM-entry instruction length 0 without IA32_VMX_MISC[30]");
    }
    return true;
}

int vmentry_check_controls(const struct nested_caps *c, const uint8_t *vmcs12, const char **why)
{
    const char *dummy;
    struct ectx x = ectx_init(c, vmcs12, why ? why : &dummy);
    if (!exec_reserved_ok(&x) || !exec_bitmaps_ok(&x) || !exec_nmi_ok(&x) ||
        !exec_secondary_ok(&x) || !exit_controls_ok(&x) || !entry_reserved_ok(&x) ||
        !injection_ok(&x))
        return VMENTRY_ERR_CONTROLS;
    return 0;
}

int vmentry_check_injection(const struct nested_caps *c, const uint8_t *vmcs12, const char **why)
{
    const char *dummy;
    struct ectx x = ectx_init(c, vmcs12, why ? why : &dummy);
    return injection_ok(&x) ? 0 : VMENTRY_ERR_CONTROLS;
}

/* ---- 27.2.2 host control registers and MSRs ----------------------------- */

static bool host_cr_msr_ok(const struct ectx *x)
{
    const struct nested_caps *c = x->c;
    /* CR0 and CR4 must not set any bit to a value not supported in VMX
     * operation (FIXED0/FIXED1); CR0.NW and CR0.CD are never checked, as
     * VM exit does not change them.  (CR4.CET, whose rule needs CR0.WP,
     * is not in CR4_FIXED1.) */
    REQUIRE(fixed_ok(get(x, VMCS_HOST_CR0), nested_cap(c, MSR_VMX_CR0_FIXED0),
                     nested_cap(c, MSR_VMX_CR0_FIXED1), CR0_NW | CR0_CD),
            "host CR0 not allowed by IA32_VMX_CR0_FIXED0/1");
    REQUIRE(fixed_ok(get(x, VMCS_HOST_CR4), nested_cap(c, MSR_VMX_CR4_FIXED0),
                     nested_cap(c, MSR_VMX_CR4_FIXED1), 0),
            "host CR4 not allowed by IA32_VMX_CR4_FIXED0/1");
    /* CR3: bits 63:52 and bits 51:32 beyond the physical-address width
     * are 0 (no LAM: bits 62:61 are reserved too). */
    REQUIRE(within_width(c, get(x, VMCS_HOST_CR3)), "host CR3 beyond the physical-address width");
    /* IA32_SYSENTER_ESP and IA32_SYSENTER_EIP are canonical. */
    REQUIRE(is_canonical48(get(x, VMCS_HOST_SYSENTER_ESP)), "host IA32_SYSENTER_ESP not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_HOST_SYSENTER_EIP)), "host IA32_SYSENTER_EIP not canonical");
    /* "Load IA32_PAT": a value WRMSR would accept. */
    REQUIRE(!(x->exit & EXIT_LOAD_IA32_PAT) || pat_valid(get(x, VMCS_HOST_IA32_PAT)),
            "host IA32_PAT not valid");
    if (x->exit & EXIT_LOAD_IA32_EFER) {
        /* "Load IA32_EFER": reserved bits are 0, and LMA and LME each
         * equal "host address-space size". */
        uint64_t efer = get(x, VMCS_HOST_IA32_EFER);
        bool hass = x->exit & EXIT_HOST_ADDR_SPACE_SIZE;
        REQUIRE(!(efer & ~NESTED_EFER_BITS), "host IA32_EFER reserved bits set");
        REQUIRE(!!(efer & EFER_LMA) == hass, "host IA32_EFER.LMA differs from host address-space size");
        REQUIRE(!!(efer & EFER_LME) == hass, "host IA32_EFER.LME differs from host address-space size");
    }
    /* "Load IA32_PERF_GLOBAL_CTRL", CET and PKRS are never offered. */
    return true;
}

/* ---- 27.2.3 host segment and descriptor-table registers ----------------- */

static bool host_segments_ok(const struct ectx *x)
{
    static const struct { uint32_t enc; const char *bad; } sel[] = {
        { VMCS_HOST_ES_SEL, "host ES selector RPL or TI not 0" },
        { VMCS_HOST_CS_SEL, "host CS selector RPL or TI not 0" },
        { VMCS_HOST_SS_SEL, "host SS selector RPL or TI not 0" },
        { VMCS_HOST_DS_SEL, "host DS selector RPL or TI not 0" },
        { VMCS_HOST_FS_SEL, "host FS selector RPL or TI not 0" },
        { VMCS_HOST_GS_SEL, "host GS selector RPL or TI not 0" },
        { VMCS_HOST_TR_SEL, "host TR selector RPL or TI not 0" },
    };
    /* In the selectors for CS, SS, DS, ES, FS, GS and TR, RPL (1:0) and
     * TI (2) are 0. */
    for (unsigned i = 0; i < ARRAY_SIZE(sel); i++)
        REQUIRE(!(get(x, sel[i].enc) & 7), sel[i].bad);
    /* CS and TR cannot be 0000H; SS cannot if "host address-space size"
     * is 0. */
    REQUIRE(get(x, VMCS_HOST_CS_SEL), "host CS selector 0");
    REQUIRE(get(x, VMCS_HOST_TR_SEL), "host TR selector 0");
    REQUIRE((x->exit & EXIT_HOST_ADDR_SPACE_SIZE) || get(x, VMCS_HOST_SS_SEL),
            "host SS selector 0 without host address-space size");
    /* The FS, GS, GDTR, IDTR and TR bases are canonical. */
    REQUIRE(is_canonical48(get(x, VMCS_HOST_FS_BASE)), "host FS base not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_HOST_GS_BASE)), "host GS base not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_HOST_GDTR_BASE)), "host GDTR base not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_HOST_IDTR_BASE)), "host IDTR base not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_HOST_TR_BASE)), "host TR base not canonical");
    return true;
}

/* ---- 27.2.4 address-space size ------------------------------------------ */

static bool host_addr_space_ok(const struct ectx *x)
{
    uint64_t cr4 = get(x, VMCS_HOST_CR4), rip = get(x, VMCS_HOST_RIP);
    if (!(x->exit & EXIT_HOST_ADDR_SPACE_SIZE)) {
        /* "Host address-space size" 0: "IA-32e mode guest" is 0, CR4.PCIDE
         * is 0, and bits 63:32 of RIP are 0. */
        REQUIRE(!(x->entry & ENTRY_IA32E_MODE_GUEST),
                "IA-32e mode guest without host address-space size");
        REQUIRE(!(cr4 & CR4_PCIDE), "host CR4.PCIDE without host address-space size");
        REQUIRE(!(rip >> 32), "host RIP above 4 GiB without host address-space size");
    } else {
        /* "Host address-space size" 1: CR4.PAE is 1 and RIP is canonical. */
        REQUIRE(cr4 & CR4_PAE, "host CR4.PAE clear with host address-space size");
        REQUIRE(is_canonical48(rip), "host RIP not canonical");
    }
    return true;
}

int vmentry_check_host(const struct nested_caps *c, const uint8_t *vmcs12, const char **why)
{
    const char *dummy;
    struct ectx x = ectx_init(c, vmcs12, why ? why : &dummy);
    if (!host_cr_msr_ok(&x) || !host_segments_ok(&x) || !host_addr_space_ok(&x))
        return VMENTRY_ERR_HOST;
    return 0;
}

int vmentry_check_host_lma(const uint8_t *vmcs12, bool l1_lma, const char **why)
{
    uint32_t exit = (uint32_t)vmcs12_get(vmcs12, VMCS_EXIT_CONTROLS);
    uint32_t entry = (uint32_t)vmcs12_get(vmcs12, VMCS_ENTRY_CONTROLS);
    const char *msg = NULL;
    if (!l1_lma && (entry & ENTRY_IA32E_MODE_GUEST))
        /* Outside IA-32e mode, "IA-32e mode guest" must be 0 ... */
        msg = "IA-32e mode guest with the processor outside IA-32e mode";
    else if (!l1_lma && (exit & EXIT_HOST_ADDR_SPACE_SIZE))
        /* ... and "host address-space size" must be 0. */
        msg = "host address-space size with the processor outside IA-32e mode";
    else if (l1_lma && !(exit & EXIT_HOST_ADDR_SPACE_SIZE))
        /* In IA-32e mode, "host address-space size" must be 1. */
        msg = "host address-space size clear with the processor in IA-32e mode";
    if (!msg)
        return 0;
    if (why)
        *why = msg;
    return VMENTRY_ERR_HOST;
}

/* ---- 27.3.1 guest state ------------------------------------------------- */

enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S_NR };

struct seg {
    uint16_t sel;
    uint32_t limit, ar;
    uint64_t base;
};

struct gctx {
    struct ectx x;
    uint64_t cr0, cr4, rflags;
    uint32_t intr_info;             /* VM-entry interruption information */
    bool ia32e, ug, v86;
    struct seg s[S_NR];
};

static void gctx_init(struct gctx *g, const struct nested_caps *c, const uint8_t *v, const char **why)
{
    g->x = ectx_init(c, v, why);
    g->cr0 = V12(v, VMCS_GUEST_CR0);
    g->cr4 = V12(v, VMCS_GUEST_CR4);
    g->rflags = V12(v, VMCS_GUEST_RFLAGS);
    g->intr_info = (uint32_t)V12(v, VMCS_ENTRY_INTR_INFO);
    /* SDM 27.3.1.2 terms: IA-32e mode if "IA-32e mode guest" is 1;
     * virtual-8086 if RFLAGS.VM is 1. */
    g->ia32e = g->x.entry & ENTRY_IA32E_MODE_GUEST;
    g->ug = g->x.proc2 & PROC2_UNRESTRICTED_GUEST;
    g->v86 = g->rflags & RFLAGS_VM;
    /* ES, CS, SS, DS, FS, GS, LDTR, TR: consecutive encodings (App. B). */
    for (unsigned i = 0; i < S_NR; i++) {
        g->s[i].sel = (uint16_t)vmcs12_get(v, VMCS_GUEST_ES_SEL + 2 * i);
        g->s[i].limit = (uint32_t)vmcs12_get(v, VMCS_GUEST_ES_LIMIT + 2 * i);
        g->s[i].ar = (uint32_t)vmcs12_get(v, VMCS_GUEST_ES_AR + 2 * i);
        g->s[i].base = vmcs12_get(v, VMCS_GUEST_ES_BASE + 2 * i);
    }
}

static bool injecting(const struct gctx *g, unsigned type)
{
    return (g->intr_info & INTR_INFO_VALID) && INFO_TYPE(g->intr_info) == type;
}

static bool usable(const struct seg *s)
{
    return !(s->ar & AR_UNUSABLE);
}

/* 27.3.1.1 checks on guest control registers, debug registers and MSRs. */
static bool guest_cr_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    const struct nested_caps *c = x->c;
    /* CR0 must not set any bit to a value not supported in VMX operation,
     * except PE and PG with "unrestricted guest", and NW and CD never. */
    uint64_t skip = CR0_NW | CR0_CD | (g->ug ? CR0_PE | CR0_PG : 0);
    REQUIRE(fixed_ok(g->cr0, nested_cap(c, MSR_VMX_CR0_FIXED0), nested_cap(c, MSR_VMX_CR0_FIXED1), skip),
            "guest CR0 not allowed by IA32_VMX_CR0_FIXED0/1");
    /* If CR0.PG is 1, CR0.PE must be 1. */
    REQUIRE(!(g->cr0 & CR0_PG) || (g->cr0 & CR0_PE), "guest CR0.PG set with CR0.PE clear");
    /* CR4 must not set any bit to a value not supported in VMX operation
     * (CR4.CET, whose rule needs CR0.WP, is not in CR4_FIXED1). */
    REQUIRE(fixed_ok(g->cr4, nested_cap(c, MSR_VMX_CR4_FIXED0), nested_cap(c, MSR_VMX_CR4_FIXED1), 0),
            "guest CR4 not allowed by IA32_VMX_CR4_FIXED0/1");
    /* "Load debug controls": IA32_DEBUGCTL reserved bits are 0. */
    REQUIRE(!(x->entry & ENTRY_LOAD_DEBUG_CONTROLS) ||
            !(get(x, VMCS_GUEST_IA32_DEBUGCTL) & ~NESTED_DEBUGCTL_BITS),
            "guest IA32_DEBUGCTL reserved bits set");
    /* "IA-32e mode guest": CR0.PG and CR4.PAE are 1; otherwise CR4.PCIDE
     * is 0. */
    REQUIRE(!g->ia32e || (g->cr0 & CR0_PG), "IA-32e mode guest with guest CR0.PG clear");
    REQUIRE(!g->ia32e || (g->cr4 & CR4_PAE), "IA-32e mode guest with guest CR4.PAE clear");
    REQUIRE(g->ia32e || !(g->cr4 & CR4_PCIDE), "guest CR4.PCIDE set outside IA-32e mode");
    /* CR3: no bit beyond the physical-address width. */
    REQUIRE(within_width(c, get(x, VMCS_GUEST_CR3)), "guest CR3 beyond the physical-address width");
    /* "Load debug controls": DR7 bits 63:32 are 0. */
    REQUIRE(!(x->entry & ENTRY_LOAD_DEBUG_CONTROLS) || !(get(x, VMCS_GUEST_DR7) >> 32),
            "guest DR7 bits 63:32 not 0");
    /* IA32_SYSENTER_ESP and IA32_SYSENTER_EIP are canonical. */
    REQUIRE(is_canonical48(get(x, VMCS_GUEST_SYSENTER_ESP)), "guest IA32_SYSENTER_ESP not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_GUEST_SYSENTER_EIP)), "guest IA32_SYSENTER_EIP not canonical");
    return true;
}

static bool guest_msr_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    /* "Load IA32_PAT": a value WRMSR would accept. */
    REQUIRE(!(x->entry & ENTRY_LOAD_IA32_PAT) || pat_valid(get(x, VMCS_GUEST_IA32_PAT)),
            "guest IA32_PAT not valid");
    if (x->entry & ENTRY_LOAD_IA32_EFER) {
        /* "Load IA32_EFER": reserved bits are 0; LMA equals "IA-32e mode
         * guest", and equals LME if CR0.PG is 1. */
        uint64_t efer = get(x, VMCS_GUEST_IA32_EFER);
        REQUIRE(!(efer & ~NESTED_EFER_BITS), "guest IA32_EFER reserved bits set");
        REQUIRE(!!(efer & EFER_LMA) == g->ia32e, "guest IA32_EFER.LMA differs from IA-32e mode guest");
        REQUIRE(!(g->cr0 & CR0_PG) || !!(efer & EFER_LMA) == !!(efer & EFER_LME),
                "guest IA32_EFER.LMA differs from LME with CR0.PG set");
    }
    /* PERF_GLOBAL_CTRL, BNDCFGS, RTIT_CTL, CET, PKRS, UINV, LBR_CTL: their
     * load controls are never offered. */
    return true;
}

/* Messages per segment register (ES, CS, SS, DS, FS, GS) for the checks
 * they share. */
enum { M_V86_BASE, M_V86_LIMIT, M_V86_AR, M_S, M_P, M_RSVD_11_8, M_G, M_RSVD_31_17, M_BASE_HIGH,
       M_TYPE, M_DPL, M_NR };
#define SEG_MSGS(r) {                                                          \
    "guest " r " base not selector << 4 in virtual-8086 mode",                 \
    "guest " r " limit not 0xffff in virtual-8086 mode",                       \
    "guest " r " access rights not 0xf3 in virtual-8086 mode",                 \
    "guest " r " access rights S clear",                                       \
    "guest " r " access rights P clear",                                       \
    "guest " r " access rights bits 11:8 not 0",                               \
    "guest " r " access rights G inconsistent with the limit",                 \
    "guest " r " access rights bits 31:17 not 0",                              \
    "guest " r " base bits 63:32 not 0",                                       \
    "guest " r " access rights type not allowed",                              \
    "guest " r " access rights DPL not allowed",                               \
}
static const char *const seg_msg[S_GS + 1][M_NR] = {
    SEG_MSGS("ES"), SEG_MSGS("CS"), SEG_MSGS("SS"), SEG_MSGS("DS"), SEG_MSGS("FS"), SEG_MSGS("GS"),
};

/* G against the limit: any of limit[11:0] 0 needs G = 0; any of
 * limit[31:20] 1 needs G = 1. */
static bool granularity_ok(const struct seg *s)
{
    if ((s->limit & 0xfff) != 0xfff && (s->ar & AR_G))
        return false;
    return !(s->limit & 0xfff00000u) || (s->ar & AR_G);
}

/* 27.3.1.2 selector fields. */
static bool guest_selectors_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    /* TR: TI is 0.  LDTR: if usable, TI is 0. */
    REQUIRE(!(g->s[S_TR].sel & 4), "guest TR selector TI set");
    REQUIRE(!usable(&g->s[S_LDTR]) || !(g->s[S_LDTR].sel & 4), "guest LDTR selector TI set");
    /* SS: outside virtual-8086 mode and without "unrestricted guest", RPL
     * equals CS's RPL. */
    REQUIRE(g->v86 || g->ug || (g->s[S_SS].sel & 3) == (g->s[S_CS].sel & 3),
            "guest SS selector RPL differs from CS RPL");
    return true;
}

/* 27.3.1.2 base-address fields. */
static bool guest_bases_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    /* TR, FS, GS: canonical.  LDTR: canonical if usable. */
    REQUIRE(is_canonical48(g->s[S_TR].base), "guest TR base not canonical");
    REQUIRE(is_canonical48(g->s[S_FS].base), "guest FS base not canonical");
    REQUIRE(is_canonical48(g->s[S_GS].base), "guest GS base not canonical");
    REQUIRE(!usable(&g->s[S_LDTR]) || is_canonical48(g->s[S_LDTR].base), "guest LDTR base not canonical");
    /* CS: bits 63:32 are 0.  SS, DS, ES: bits 63:32 are 0 if usable. */
    REQUIRE(!(g->s[S_CS].base >> 32), seg_msg[S_CS][M_BASE_HIGH]);
    static const unsigned high0[] = { S_SS, S_DS, S_ES };
    for (unsigned i = 0; i < ARRAY_SIZE(high0); i++) {
        const struct seg *s = &g->s[high0[i]];
        REQUIRE(!usable(s) || !(s->base >> 32), seg_msg[high0[i]][M_BASE_HIGH]);
    }
    return true;
}

/* 27.3.1.2 in virtual-8086 mode: CS, SS, DS, ES, FS, GS have base =
 * selector << 4, limit 0000FFFFH and access rights 000000F3H. */
static bool guest_v86_segments_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    for (unsigned i = S_ES; i <= S_GS; i++) {
        const struct seg *s = &g->s[i];
        REQUIRE(s->base == (uint64_t)s->sel << 4, seg_msg[i][M_V86_BASE]);
        REQUIRE(s->limit == 0xffff, seg_msg[i][M_V86_LIMIT]);
        REQUIRE(s->ar == 0xf3, seg_msg[i][M_V86_AR]);
    }
    return true;
}

/* The access-rights checks CS and usable SS, DS, ES, FS, GS share: S = 1,
 * P = 1, bits 11:8 = 0, G consistent with the limit, bits 31:17 = 0. */
static bool code_data_common_ok(const struct gctx *g, unsigned i)
{
    const struct ectx *x = &g->x;
    const struct seg *s = &g->s[i];
    REQUIRE(s->ar & AR_S, seg_msg[i][M_S]);
    REQUIRE(s->ar & AR_P, seg_msg[i][M_P]);
    REQUIRE(!(s->ar & AR_RSVD_11_8), seg_msg[i][M_RSVD_11_8]);
    REQUIRE(granularity_ok(s), seg_msg[i][M_G]);
    REQUIRE(!(s->ar & AR_RSVD_31_17), seg_msg[i][M_RSVD_31_17]);
    return true;
}

static bool guest_cs_ar_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    const struct seg *cs = &g->s[S_CS];
    unsigned type = AR_TYPE(cs->ar), dpl = AR_DPL(cs->ar), ss_dpl = AR_DPL(g->s[S_SS].ar);
    /* Type 9, 11, 13 or 15 (accessed code); also 3 (read/write accessed
     * expand-up data) with "unrestricted guest". */
    REQUIRE(type == 9 || type == 11 || type == 13 || type == 15 || (g->ug && type == 3),
            seg_msg[S_CS][M_TYPE]);
    /* DPL: 0 for type 3; equal to SS.DPL for 9 and 11 (non-conforming);
     * at most SS.DPL for 13 and 15 (conforming). */
    REQUIRE(type != 3 || dpl == 0, seg_msg[S_CS][M_DPL]);
    REQUIRE((type != 9 && type != 11) || dpl == ss_dpl, seg_msg[S_CS][M_DPL]);
    REQUIRE((type != 13 && type != 15) || dpl <= ss_dpl, seg_msg[S_CS][M_DPL]);
    if (!code_data_common_ok(g, S_CS))
        return false;
    /* D/B is 0 in IA-32e mode with L = 1. */
    REQUIRE(!g->ia32e || !(cs->ar & AR_L) || !(cs->ar & AR_DB), "guest CS access rights L and D/B both set");
    return true;
}

static bool guest_ss_ar_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    const struct seg *ss = &g->s[S_SS];
    unsigned dpl = AR_DPL(ss->ar);
    /* Type 3 or 7 (read/write accessed data) if usable. */
    REQUIRE(!usable(ss) || AR_TYPE(ss->ar) == 3 || AR_TYPE(ss->ar) == 7, seg_msg[S_SS][M_TYPE]);
    /* DPL equals the selector's RPL without "unrestricted guest"; DPL is 0
     * if CS's type is 3 or CR0.PE is 0. */
    REQUIRE(g->ug || dpl == (ss->sel & 3u), seg_msg[S_SS][M_DPL]);
    REQUIRE((AR_TYPE(g->s[S_CS].ar) != 3 && (g->cr0 & CR0_PE)) || dpl == 0, seg_msg[S_SS][M_DPL]);
    return !usable(ss) || code_data_common_ok(g, S_SS);
}

static bool guest_data_ar_ok(const struct gctx *g, unsigned i)
{
    const struct ectx *x = &g->x;
    const struct seg *s = &g->s[i];
    if (!usable(s))
        return true;
    unsigned type = AR_TYPE(s->ar);
    /* Usable DS, ES, FS, GS: accessed (type bit 0); a code segment (bit 3)
     * is readable (bit 1). */
    REQUIRE(type & 1, seg_msg[i][M_TYPE]);
    REQUIRE(!(type & 8) || (type & 2), seg_msg[i][M_TYPE]);
    /* Without "unrestricted guest", for types 0-11 (data, non-conforming
     * code) DPL is not less than the selector's RPL. */
    REQUIRE(g->ug || type > 11 || AR_DPL(s->ar) >= (s->sel & 3u), seg_msg[i][M_DPL]);
    return code_data_common_ok(g, i);
}

static bool guest_tr_ldtr_ar_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    const struct seg *tr = &g->s[S_TR], *ldtr = &g->s[S_LDTR];
    /* TR: type 11 (busy 64-bit TSS) in IA-32e mode, else 3 or 11 (busy
     * 16/32-bit TSS); S = 0; P = 1; bits 11:8 = 0; G consistent; usable;
     * bits 31:17 = 0. */
    REQUIRE(AR_TYPE(tr->ar) == 11 || (!g->ia32e && AR_TYPE(tr->ar) == 3),
            "guest TR access rights type not a busy TSS");
    REQUIRE(!(tr->ar & AR_S), "guest TR access rights S set");
    REQUIRE(tr->ar & AR_P, "guest TR access rights P clear");
    REQUIRE(!(tr->ar & AR_RSVD_11_8), "guest TR access rights bits 11:8 not 0");
    REQUIRE(granularity_ok(tr), "guest TR access rights G inconsistent with the limit");
    REQUIRE(usable(tr), "guest TR unusable");
    REQUIRE(!(tr->ar & AR_RSVD_31_17), "guest TR access rights bits 31:17 not 0");
    if (!usable(ldtr))
        return true;
    /* Usable LDTR: type 2 (LDT), S = 0, P = 1, bits 11:8 = 0, G
     * consistent, bits 31:17 = 0. */
    REQUIRE(AR_TYPE(ldtr->ar) == 2, "guest LDTR access rights type not LDT");
    REQUIRE(!(ldtr->ar & AR_S), "guest LDTR access rights S set");
    REQUIRE(ldtr->ar & AR_P, "guest LDTR access rights P clear");
    REQUIRE(!(ldtr->ar & AR_RSVD_11_8), "guest LDTR access rights bits 11:8 not 0");
    REQUIRE(granularity_ok(ldtr), "guest LDTR access rights G inconsistent with the limit");
    REQUIRE(!(ldtr->ar & AR_RSVD_31_17), "guest LDTR access rights bits 31:17 not 0");
    return true;
}

static bool guest_segments_ok(const struct gctx *g)
{
    if (!guest_selectors_ok(g) || !guest_bases_ok(g))
        return false;
    if (g->v86) {
        if (!guest_v86_segments_ok(g))
            return false;
    } else {
        if (!guest_cs_ar_ok(g) || !guest_ss_ar_ok(g))
            return false;
        static const unsigned data[] = { S_DS, S_ES, S_FS, S_GS };
        for (unsigned i = 0; i < ARRAY_SIZE(data); i++)
            if (!guest_data_ar_ok(g, data[i]))
                return false;
    }
    return guest_tr_ldtr_ar_ok(g);
}

/* 27.3.1.3 checks on guest descriptor-table registers. */
static bool guest_dt_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    /* The bases are canonical; bits 31:16 of the limits are 0. */
    REQUIRE(is_canonical48(get(x, VMCS_GUEST_GDTR_BASE)), "guest GDTR base not canonical");
    REQUIRE(is_canonical48(get(x, VMCS_GUEST_IDTR_BASE)), "guest IDTR base not canonical");
    REQUIRE(!(get(x, VMCS_GUEST_GDTR_LIMIT) & 0xffff0000u), "guest GDTR limit bits 31:16 not 0");
    REQUIRE(!(get(x, VMCS_GUEST_IDTR_LIMIT) & 0xffff0000u), "guest IDTR limit bits 31:16 not 0");
    return true;
}

/* 27.3.1.4 checks on guest RIP and RFLAGS (no CET: no SSP). */
static bool guest_rip_rflags_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    uint64_t rip = get(x, VMCS_GUEST_RIP);
    if (g->ia32e && (g->s[S_CS].ar & AR_L))
        /* 64-bit mode: bits 63:N are identical (canonical). */
        REQUIRE(is_canonical48(rip), "guest RIP not canonical in 64-bit mode");
    else
        /* Otherwise ("IA-32e mode guest" 0 or CS.L 0): bits 63:32 are 0. */
        REQUIRE(!(rip >> 32), "guest RIP bits 63:32 not 0 outside 64-bit mode");
    /* RFLAGS: bits 63:22, 15, 5 and 3 are 0, bit 1 is 1. */
    REQUIRE(!(g->rflags & RFLAGS_RESERVED0) && (g->rflags & RFLAGS_FIXED1),
            "guest RFLAGS reserved bits not as required");
    /* VM is 0 with "IA-32e mode guest" or with CR0.PE = 0. */
    REQUIRE(!g->v86 || (!g->ia32e && (g->cr0 & CR0_PE)),
            "guest RFLAGS.VM set in IA-32e mode or with CR0.PE clear");
    /* IF is 1 when an external interrupt is injected. */
    REQUIRE(!injecting(g, IT_EXT) || (g->rflags & RFLAGS_IF),
            "guest RFLAGS.IF clear while injecting an external interrupt");
    return true;
}

/* Whether an injected event would be blocked in an activity state (SDM
 * 27.3.1.5): HLT takes external interrupts, NMIs, #DB, #MC and pending MTF
 * VM exits; shutdown NMIs and #MC; wait-for-SIPI nothing. */
static bool injection_allowed_in(uint32_t activity, uint32_t info)
{
    unsigned type = INFO_TYPE(info), vec = INFO_VECTOR(info);
    switch (activity) {
    case ACTIVITY_ACTIVE:
        return true;
    case ACTIVITY_HLT:
        return type == IT_EXT || type == IT_NMI || (type == IT_HW_EXC && (vec == 1 || vec == 18)) ||
               (type == IT_OTHER && vec == 0);
    case 2:
        return type == IT_NMI || (type == IT_HW_EXC && vec == 18);
    default:
        return false;
    }
}

/* 27.3.1.5 activity state. */
static bool guest_activity_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    uint32_t act = (uint32_t)get(x, VMCS_GUEST_ACTIVITY_STATE);
    uint32_t intr = (uint32_t)get(x, VMCS_GUEST_INTERRUPTIBILITY);
    /* In 0-3 and supported (IA32_VMX_MISC bits 6-8 for HLT, shutdown and
     * wait-for-SIPI; Nestor offers HLT only). */
    REQUIRE(act == ACTIVITY_ACTIVE || (act <= 3 && (nested_cap(x->c, MSR_VMX_MISC) & BIT(5 + act))),
            "guest activity state not supported");
    /* Not HLT if SS.DPL is not 0. */
    REQUIRE(act != ACTIVITY_HLT || AR_DPL(g->s[S_SS].ar) == 0, "guest activity state HLT with SS.DPL not 0");
    /* Active if there is blocking by STI or by MOV SS. */
    REQUIRE(act == ACTIVITY_ACTIVE || !(intr & (INTR_STI | INTR_MOV_SS)),
            "guest activity state not active with blocking by STI or MOV SS");
    /* An injected event is not one the activity state blocks. */
    REQUIRE(!(g->intr_info & INTR_INFO_VALID) || injection_allowed_in(act, g->intr_info),
            "guest activity state blocks the injected event");
    return true;
}

/* 27.3.1.5 interruptibility state. */
static bool guest_interruptibility_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    uint32_t intr = (uint32_t)get(x, VMCS_GUEST_INTERRUPTIBILITY);
    /* Reserved bits 31:5 are 0. */
    REQUIRE(!(intr & ~0x1fu), "guest interruptibility-state bits 31:5 not 0");
    /* Bit 4 (enclave interruption) needs SGX, which is hidden. */
    REQUIRE(!(intr & INTR_ENCLAVE), "guest interruptibility-state enclave interruption without SGX");
    /* Not blocking by both STI and MOV SS. */
    REQUIRE((intr & (INTR_STI | INTR_MOV_SS)) != (INTR_STI | INTR_MOV_SS),
            "guest interruptibility-state blocking by both STI and MOV SS");
    /* Blocking by STI needs RFLAGS.IF = 1. */
    REQUIRE(!(intr & INTR_STI) || (g->rflags & RFLAGS_IF),
            "guest interruptibility-state blocking by STI with RFLAGS.IF clear");
    /* Injecting an external interrupt: no blocking by STI or MOV SS. */
    REQUIRE(!injecting(g, IT_EXT) || !(intr & (INTR_STI | INTR_MOV_SS)),
            "guest blocking by STI or MOV SS while injecting an external interrupt");
    /* Injecting an NMI: no blocking by MOV SS; and no blocking by STI,
     * which "a processor may require" and Nestor's does (so the result
     * does not depend on the physical CPU). */
    REQUIRE(!injecting(g, IT_NMI) || !(intr & INTR_MOV_SS),
            "guest blocking by MOV SS while injecting an NMI");
    REQUIRE(!injecting(g, IT_NMI) || !(intr & INTR_STI), "guest blocking by STI while injecting an NMI");
    /* Blocking by SMI is 0 outside SMM (L1 is never in SMM). */
    REQUIRE(!(intr & INTR_SMI), "guest interruptibility-state blocking by SMI outside SMM");
    /* With "virtual NMIs", injecting an NMI: blocking by NMI is 0. */
    REQUIRE(!(x->pin & PIN_VIRTUAL_NMIS) || !injecting(g, IT_NMI) || !(intr & INTR_NMI),
            "guest virtual-NMI blocking while injecting an NMI");
    return true;
}

/* 27.3.1.5 pending debug exceptions. */
static bool guest_pending_dbg_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    uint64_t pde = get(x, VMCS_GUEST_PENDING_DBG);
    uint32_t intr = (uint32_t)get(x, VMCS_GUEST_INTERRUPTIBILITY);
    uint32_t act = (uint32_t)get(x, VMCS_GUEST_ACTIVITY_STATE);
    /* Bits 11:4, 13, 15 and 63:17 are 0. */
    REQUIRE(!(pde & PDE_RESERVED), "guest pending debug exceptions reserved bits set");
    /* Bit 16 (RTM) needs RTM support (CPUID.7.0:EBX[11]), which is hidden. */
    REQUIRE(!(pde & PDE_RTM), "guest pending debug exceptions RTM without RTM support");
    if ((intr & (INTR_STI | INTR_MOV_SS)) || act == ACTIVITY_HLT) {
        /* With blocking by STI or MOV SS, or in HLT: BS is 1 if RFLAGS.TF
         * is 1 and IA32_DEBUGCTL.BTF is 0, and 0 if TF is 0 or BTF is 1. */
        bool single_step = (g->rflags & RFLAGS_TF) && !(get(x, VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF);
        REQUIRE(!single_step || (pde & PDE_BS),
                "guest pending debug exceptions BS clear with RFLAGS.TF set and BTF clear");
        REQUIRE(single_step || !(pde & PDE_BS),
                "guest pending debug exceptions BS set with RFLAGS.TF clear or BTF set");
    }
    return true;
}

/* 27.3.1.5 VMCS link pointer (the revision check is the caller's). */
static bool guest_link_ptr_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    uint64_t link = get(x, VMCS_LINK_POINTER);
    if (link == ~0ull)
        return true;
    /* Not FFFFFFFF_FFFFFFFFH: bits 11:0 are 0 and no bit beyond the
     * physical-address width. */
    REQUIRE(IS_ALIGNED(link, PAGE_SIZE), "VMCS link pointer not 4 KiB aligned");
    REQUIRE(within_width(x->c, link), "VMCS link pointer beyond the physical-address width");
    return true;
}

bool vmentry_pdpte_valid(const struct nested_caps *c, uint64_t pdpte)
{
    /* Present PDPTE: bits 2:1, 8:5 and 63:MAXPHYADDR reserved (SDM 4.4.1). */
    return !(pdpte & 1) || (!(pdpte & (0x6ull | 0x1e0ull)) && within_width(c, pdpte));
}

/* 27.3.1.6 checks on the PDPTE fields: PAE paging (CR0.PG, CR4.PAE,
 * not IA-32e mode) with "enable EPT" loads them from the guest-state area. */
static bool guest_pdptes_ok(const struct gctx *g)
{
    const struct ectx *x = &g->x;
    if (!(g->cr0 & CR0_PG) || !(g->cr4 & CR4_PAE) || g->ia32e || !(x->proc2 & PROC2_ENABLE_EPT))
        return true;
    static const uint32_t enc[] = { VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE1, VMCS_GUEST_PDPTE2,
                                    VMCS_GUEST_PDPTE3 };
    static const char *const bad[] = { "guest PDPTE0 reserved bits set", "guest PDPTE1 reserved bits set",
                                       "guest PDPTE2 reserved bits set", "guest PDPTE3 reserved bits set" };
    for (unsigned i = 0; i < 4; i++)
        REQUIRE(vmentry_pdpte_valid(x->c, get(x, enc[i])), bad[i]);
    return true;
}

int vmentry_check_guest(const struct nested_caps *c, const uint8_t *vmcs12, uint64_t *qual,
                        const char **why)
{
    const char *dummy;
    struct gctx g;
    uint64_t q = VMENTRY_QUAL_DEFAULT;
    int r = 0;
    gctx_init(&g, c, vmcs12, why ? why : &dummy);
    if (!guest_cr_ok(&g) || !guest_msr_ok(&g) || !guest_segments_ok(&g) || !guest_dt_ok(&g) ||
        !guest_rip_rflags_ok(&g) || !guest_activity_ok(&g) || !guest_interruptibility_ok(&g) ||
        !guest_pending_dbg_ok(&g))
        r = VMENTRY_FAIL_GUEST;
    else if (!guest_link_ptr_ok(&g))
        r = VMENTRY_FAIL_GUEST, q = VMENTRY_QUAL_LINK_PTR;
    else if (!guest_pdptes_ok(&g))
        r = VMENTRY_FAIL_GUEST;
    if (qual)
        *qual = q;
    return r;
}

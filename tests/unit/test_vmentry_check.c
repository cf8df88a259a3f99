/* nested/vmentry_check.c: the SDM 27.2/27.3.1 checks VM entry makes on a
 * vmcs12.  Each test starts from a valid vmcs12 (a 64-bit L2 with EPT and
 * VPID, or one of its 32-bit, virtual-8086 and unrestricted real-mode
 * variants), breaks one thing and expects the right result, qualification
 * and reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested_caps.h"
#include "vmcs12.h"
#include "vmcs_fields.h"
#include "vmentry_check.h"

#include "tigerlake_caps.h"

#define BEYOND_WIDTH (1ull << 40)
#define NONCANONICAL 0x0000800000000000ull

static struct nested_caps caps;
static uint8_t vmcs[VMCS12_REGION_SIZE];

static void set(uint32_t enc, uint64_t val) { vmcs12_set(vmcs, enc, val); }
static uint64_t get(uint32_t enc) { return vmcs12_get(vmcs, enc); }
static void add(uint32_t enc, uint64_t bits) { set(enc, get(enc) | bits); }
static void clear(uint32_t enc, uint64_t bits) { set(enc, get(enc) & ~bits); }

/* ---- known-good states --------------------------------------------------- */

#define CR0_GOOD   0x80050033ull    /* PG AM WP NE ET MP PE */
#define CR4_HOST   0x000026a0ull    /* VMXE OSXMMEXCPT OSFXSR PGE PAE */
#define CR4_GUEST  (CR4_HOST | (1ull << 17))   /* + PCIDE */
#define EFER_LONG  0xd01ull         /* NXE LMA LME SCE */
#define PAT_GOOD   0x0007040600070406ull

static void seg(unsigned i, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    set(VMCS_GUEST_ES_SEL + 2 * i, sel);
    set(VMCS_GUEST_ES_BASE + 2 * i, base);
    set(VMCS_GUEST_ES_LIMIT + 2 * i, limit);
    set(VMCS_GUEST_ES_AR + 2 * i, ar);
}
enum { ES, CS, SS, DS, FS, GS, LDTR, TR };

static void good_controls(void)
{
    set(VMCS_PIN_CONTROLS, 0x16 | PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    set(VMCS_PROC_CONTROLS, 0x04006172 | PROC_RDPMC_EXITING | PROC_HLT_EXITING | PROC_USE_IO_BITMAPS |
                            PROC_USE_MSR_BITMAPS | PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT | PROC2_ENABLE_VPID);
    set(VMCS_EXIT_CONTROLS, 0x36dfb | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT |
                            EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
                            EXIT_LOAD_IA32_EFER);
    set(VMCS_ENTRY_CONTROLS, 0x11fb | ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_IA32E_MODE_GUEST |
                             ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER);
    set(VMCS_VPID, 1);
    set(VMCS_EPT_POINTER, 0x200000 | 0x5e);             /* WB, 4 levels, A/D */
    set(VMCS_IO_BITMAP_A, 0x10000);
    set(VMCS_IO_BITMAP_B, 0x11000);
    set(VMCS_MSR_BITMAP, 0x12000);
    set(VMCS_CR3_TARGET_COUNT, 4);
    set(VMCS_EXIT_MSR_STORE_COUNT, 2);
    set(VMCS_EXIT_MSR_STORE_ADDR, 0x13000);
    set(VMCS_EXIT_MSR_LOAD_COUNT, 1);
    set(VMCS_EXIT_MSR_LOAD_ADDR, 0x13020);
    set(VMCS_ENTRY_MSR_LOAD_COUNT, 3);
    set(VMCS_ENTRY_MSR_LOAD_ADDR, 0x13040);
}

static void good_host(void)
{
    set(VMCS_HOST_CR0, CR0_GOOD);
    set(VMCS_HOST_CR3, 0x1000);
    set(VMCS_HOST_CR4, CR4_HOST);
    set(VMCS_HOST_CS_SEL, 0x08);
    set(VMCS_HOST_SS_SEL, 0x10);
    set(VMCS_HOST_DS_SEL, 0x10);
    set(VMCS_HOST_ES_SEL, 0x10);
    set(VMCS_HOST_TR_SEL, 0x18);
    set(VMCS_HOST_GS_BASE, 0xffff888000000000ull);
    set(VMCS_HOST_TR_BASE, 0xffff800000001000ull);
    set(VMCS_HOST_GDTR_BASE, 0xffff800000002000ull);
    set(VMCS_HOST_IDTR_BASE, 0xffff800000003000ull);
    set(VMCS_HOST_IA32_EFER, EFER_LONG);
    set(VMCS_HOST_IA32_PAT, PAT_GOOD);
    set(VMCS_HOST_RSP, 0xffff800000008000ull);
    set(VMCS_HOST_RIP, 0xffffffff81001000ull);
}

/* A 64-bit L2 at CPL 0. */
static void good_guest(void)
{
    set(VMCS_GUEST_CR0, CR0_GOOD);
    set(VMCS_GUEST_CR3, 0x123000);
    set(VMCS_GUEST_CR4, CR4_GUEST);
    set(VMCS_GUEST_IA32_EFER, EFER_LONG);
    set(VMCS_GUEST_IA32_PAT, PAT_GOOD);
    set(VMCS_GUEST_DR7, 0x400);
    set(VMCS_GUEST_RIP, 0xffffffff80001000ull);
    set(VMCS_GUEST_RSP, 0xffffffff80100000ull);
    set(VMCS_GUEST_RFLAGS, 0x2);
    seg(CS, 0x08, 0, 0xffffffff, 0xa09b);
    seg(SS, 0x10, 0, 0xffffffff, 0xc093);
    seg(DS, 0x10, 0, 0xffffffff, 0xc093);
    seg(ES, 0x10, 0, 0xffffffff, 0xc093);
    seg(FS, 0, 0x7fff00000000ull, 0, 0x10000);
    seg(GS, 0, 0xffff888000100000ull, 0, 0x10000);
    seg(LDTR, 0, 0, 0, 0x10000);
    seg(TR, 0x18, 0xffff800000005000ull, 0x67, 0x8b);
    set(VMCS_GUEST_GDTR_BASE, 0xffff800000006000ull);
    set(VMCS_GUEST_GDTR_LIMIT, 0x7f);
    set(VMCS_GUEST_IDTR_BASE, 0xffff800000007000ull);
    set(VMCS_GUEST_IDTR_LIMIT, 0xfff);
    set(VMCS_LINK_POINTER, ~0ull);
}

static void compute(const struct nested_phys *p)
{
    memset(&caps, 0xcc, sizeof(caps));
    nested_caps_compute(p, &caps);
}

static void good64(void)
{
    compute(&tigerlake);
    memset(vmcs, 0, sizeof(vmcs));
    vmcs12_set_header(vmcs, VMCS12_OFF_REVISION, VMCS12_REVISION);
    good_controls();
    good_host();
    good_guest();
}

/* 32-bit protected mode with PAE paging (no IA-32e mode), PDPTEs in the
 * vmcs12 since EPT is on. */
static void good32(void)
{
    good64();
    clear(VMCS_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(VMCS_GUEST_IA32_EFER, 0x801);                   /* NXE SCE */
    set(VMCS_GUEST_CR4, CR4_HOST);
    set(VMCS_GUEST_RIP, 0xc0001000);
    set(VMCS_GUEST_RSP, 0xc0100000);
    seg(CS, 0x08, 0, 0xffffffff, 0xc09b);
    seg(TR, 0x18, 0x5000, 0x67, 0x8b);
    set(VMCS_GUEST_GDTR_BASE, 0x6000);
    set(VMCS_GUEST_IDTR_BASE, 0x7000);
    set(VMCS_GUEST_PDPTE0, 0x5001);
    set(VMCS_GUEST_PDPTE1, 0x6001);
    set(VMCS_GUEST_PDPTE2, 0xfffffff000ull | 0x19);     /* PWT PCD */
    set(VMCS_GUEST_PDPTE3, 0xfffffffffffffffeull);      /* not present: ignored */
}

/* Virtual-8086 mode on top of good32. */
static void good_v86(void)
{
    good32();
    set(VMCS_GUEST_RFLAGS, 0x20202);                    /* VM IF */
    set(VMCS_GUEST_RIP, 0x100);
    static const uint16_t sel[] = { 0x1000, 0x2000, 0x3000, 0x1000, 0, 0x4000 };
    for (unsigned i = ES; i <= GS; i++)
        seg(i, sel[i], (uint64_t)sel[i] << 4, 0xffff, 0xf3);
}

/* Real mode with "unrestricted guest" (CR0.PE = CR0.PG = 0). */
static void good_real(void)
{
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    clear(VMCS_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(VMCS_GUEST_CR0, 0x30);                          /* NE ET */
    set(VMCS_GUEST_CR4, 0x2000);
    set(VMCS_GUEST_IA32_EFER, 0);
    set(VMCS_GUEST_RIP, 0xfff0);
    seg(CS, 0xf000, 0xf0000, 0xffff, 0x9b);
    for (unsigned i = ES; i <= GS; i++)
        if (i != CS)
            seg(i, 0, 0, 0xffff, 0x93);
    seg(TR, 0, 0, 0xffff, 0x8b);
    set(VMCS_GUEST_GDTR_BASE, 0);
    set(VMCS_GUEST_GDTR_LIMIT, 0xffff);
    set(VMCS_GUEST_IDTR_BASE, 0);
    set(VMCS_GUEST_IDTR_LIMIT, 0x3ff);
}

/* ---- expectations ------------------------------------------------------ */

/* Each expectation names the caller's line when it fails. */
static void check_why(int line, const char *what, int r, const char *why, const char *substr)
{
    if (!substr)
        return;
    if (!why)
        fail_msg("line %d: %s failed (%d) without a reason", line, what, r);
    if (!strstr(why, substr))
        fail_msg("line %d: %s: reason \"%s\" does not mention \"%s\"", line, what, why, substr);
}

static void expect_controls(int line, int want, const char *substr)
{
    const char *why = NULL;
    int r = vmentry_check_controls(&caps, vmcs, &why);
    if (r != want)
        fail_msg("line %d: controls: %d (%s), expected %d", line, r, why ? why : "no reason", want);
    check_why(line, "controls", r, why, substr);
}

static void expect_host(int line, int want, const char *substr)
{
    const char *why = NULL;
    int r = vmentry_check_host(&caps, vmcs, &why);
    if (r != want)
        fail_msg("line %d: host: %d (%s), expected %d", line, r, why ? why : "no reason", want);
    check_why(line, "host", r, why, substr);
}

static void expect_guest(int line, int want, uint64_t want_qual, const char *substr)
{
    const char *why = NULL;
    uint64_t qual = 0xdead;
    int r = vmentry_check_guest(&caps, vmcs, &qual, &why);
    if (r != want)
        fail_msg("line %d: guest: %d (%s), expected %d", line, r, why ? why : "no reason", want);
    if (qual != want_qual)
        fail_msg("line %d: guest: qualification %llu, expected %llu", line,
                 (unsigned long long)qual, (unsigned long long)want_qual);
    check_why(line, "guest", r, why, substr);
}

#define CTL_OK()          expect_controls(__LINE__, 0, NULL)
#define CTL_BAD(s)        expect_controls(__LINE__, VMENTRY_ERR_CONTROLS, s)
#define HOST_OK()         expect_host(__LINE__, 0, NULL)
#define HOST_BAD(s)       expect_host(__LINE__, VMENTRY_ERR_HOST, s)
#define GUEST_OK()        expect_guest(__LINE__, 0, 0, NULL)
#define GUEST_BAD(s)      expect_guest(__LINE__, VMENTRY_FAIL_GUEST, VMENTRY_QUAL_DEFAULT, s)
#define GUEST_BAD_LINK(s) expect_guest(__LINE__, VMENTRY_FAIL_GUEST, VMENTRY_QUAL_LINK_PTR, s)

static void all_ok(void)
{
    CTL_OK();
    HOST_OK();
    GUEST_OK();
}

/* ---- the good states --------------------------------------------------- */

static void good_states_pass(void **state)
{
    (void)state;
    good64();
    all_ok();
    assert_int_equal(vmentry_check_host_lma(vmcs, true, NULL), 0);
    good32();
    all_ok();
    good_v86();
    all_ok();
    good_real();
    all_ok();
    /* NULL why / qual are allowed, passing or not. */
    good64();
    assert_int_equal(vmentry_check_controls(&caps, vmcs, NULL), 0);
    assert_int_equal(vmentry_check_guest(&caps, vmcs, NULL, NULL), 0);
    set(VMCS_CR3_TARGET_COUNT, 5);
    set(VMCS_HOST_CS_SEL, 0);
    set(VMCS_GUEST_RFLAGS, 0);
    assert_int_equal(vmentry_check_controls(&caps, vmcs, NULL), VMENTRY_ERR_CONTROLS);
    assert_int_equal(vmentry_check_host(&caps, vmcs, NULL), VMENTRY_ERR_HOST);
    assert_int_equal(vmentry_check_guest(&caps, vmcs, NULL, NULL), VMENTRY_FAIL_GUEST);
}

static void why_untouched_on_success(void **state)
{
    (void)state;
    good64();
    const char *why = "unchanged";
    uint64_t qual = 7;
    assert_int_equal(vmentry_check_controls(&caps, vmcs, &why), 0);
    assert_int_equal(vmentry_check_host(&caps, vmcs, &why), 0);
    assert_int_equal(vmentry_check_guest(&caps, vmcs, &qual, &why), 0);
    assert_string_equal(why, "unchanged");
    assert_int_equal(qual, 0);
}

/* ---- 27.2.1.1 VM-execution controls ------------------------------------- */

static void pin_controls_against_caps(void **state)
{
    (void)state;
    good64();
    add(VMCS_PIN_CONTROLS, BIT(7));                      /* posted interrupts: not offered */
    CTL_BAD("pin-based");
    good64();
    clear(VMCS_PIN_CONTROLS, BIT(1));                   /* default1, must be 1 */
    CTL_BAD("pin-based");
    good64();
    add(VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER);
    CTL_OK();
}

static void proc_controls_against_true_caps(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS, PROC_USE_TPR_SHADOW);        /* not offered */
    CTL_BAD("primary processor-based");
    good64();
    clear(VMCS_PROC_CONTROLS, BIT(1));                  /* default1 even in the TRUE MSR */
    CTL_BAD("primary processor-based");
    good64();
    clear(VMCS_PROC_CONTROLS, PROC_RDPMC_EXITING);      /* fixed to 1 for L1 (no PMU) */
    CTL_BAD("primary processor-based");
    /* The TRUE MSR lets CR3-load/store exiting be 0 (the non-true one would
     * not): it is the one used, as IA32_VMX_BASIC[55] is set. */
    good64();
    clear(VMCS_PROC_CONTROLS, PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING);
    CTL_OK();
    /* Without IA32_VMX_BASIC[55] the non-true MSR would rule, and it
     * requires them. */
    caps.msr[MSR_VMX_BASIC - MSR_VMX_FIRST] &= ~BIT(55);
    CTL_BAD("primary processor-based");
    good64();
    clear(VMCS_EXIT_CONTROLS, BIT(2));                  /* save debug controls: TRUE allows 0 */
    clear(VMCS_ENTRY_CONTROLS, BIT(2));                 /* load debug controls: TRUE allows 0 */
    CTL_OK();
}

static void secondary_controls_only_with_activate(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_VIRT_APIC_ACCESS);    /* not offered */
    CTL_BAD("secondary");
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_ENABLE_XSAVES);
    CTL_BAD("secondary");
    /* Without "activate secondary controls" they are all 0: neither their
     * reserved bits nor their own checks (EPTP, VPID) apply. */
    good64();
    clear(VMCS_PROC_CONTROLS, PROC_ACTIVATE_SECONDARY);
    set(VMCS_PROC_CONTROLS2, 0xffffffff);
    set(VMCS_EPT_POINTER, 1);
    set(VMCS_VPID, 0);
    all_ok();
}

static void cr3_target_count(void **state)
{
    (void)state;
    good64();
    set(VMCS_CR3_TARGET_COUNT, 5);
    CTL_BAD("CR3-target count");
    set(VMCS_CR3_TARGET_COUNT, 0);
    CTL_OK();
}

static void io_bitmap_addresses(void **state)
{
    (void)state;
    good64();
    set(VMCS_IO_BITMAP_A, 0x10800);
    CTL_BAD("I/O bitmap A address not 4 KiB aligned");
    good64();
    set(VMCS_IO_BITMAP_A, BEYOND_WIDTH);
    CTL_BAD("I/O bitmap A address beyond");
    good64();
    set(VMCS_IO_BITMAP_B, 0x11004);
    CTL_BAD("I/O bitmap B address not 4 KiB aligned");
    good64();
    set(VMCS_IO_BITMAP_B, 1ull << 63);
    CTL_BAD("I/O bitmap B address beyond");
    good64();
    set(VMCS_IO_BITMAP_B, 0xfffffff000ull);             /* last page below 2^40 */
    CTL_OK();
    /* The width is the one L1 sees (CPUID.80000008H:EAX[7:0]). */
    struct nested_phys p = tigerlake;
    p.maxphyaddr = 36;
    compute(&p);
    CTL_BAD("I/O bitmap B address beyond");
    set(VMCS_IO_BITMAP_B, 0xffffff000ull);
    CTL_OK();
    /* Not checked without "use I/O bitmaps". */
    clear(VMCS_PROC_CONTROLS, PROC_USE_IO_BITMAPS);
    set(VMCS_IO_BITMAP_A, 0x123);
    CTL_OK();
}

static void msr_bitmap_address(void **state)
{
    (void)state;
    good64();
    set(VMCS_MSR_BITMAP, 0x12010);
    CTL_BAD("MSR-bitmap address not 4 KiB aligned");
    good64();
    set(VMCS_MSR_BITMAP, BEYOND_WIDTH | 0x1000);
    CTL_BAD("MSR-bitmap address beyond");
    good64();
    clear(VMCS_PROC_CONTROLS, PROC_USE_MSR_BITMAPS);
    set(VMCS_MSR_BITMAP, 0x12010);
    CTL_OK();
}

static void nmi_controls(void **state)
{
    (void)state;
    good64();
    clear(VMCS_PIN_CONTROLS, PIN_NMI_EXITING);
    CTL_BAD("virtual NMIs without NMI exiting");
    good64();
    clear(VMCS_PIN_CONTROLS, PIN_VIRTUAL_NMIS);
    add(VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING);
    CTL_BAD("NMI-window exiting without virtual NMIs");
    good64();
    add(VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING);
    CTL_OK();
    clear(VMCS_PIN_CONTROLS, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS);
    clear(VMCS_PROC_CONTROLS, PROC_NMI_WINDOW_EXITING);
    CTL_OK();
}

static void vpid_not_zero(void **state)
{
    (void)state;
    good64();
    set(VMCS_VPID, 0);
    CTL_BAD("VPID 0");
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_VPID);
    CTL_OK();
}

static void eptp_checked_with_ept(void **state)
{
    (void)state;
    static const uint64_t bad[] = {
        0x200000 | 0x59,            /* memory type 1 */
        0x200000 | 0x56,            /* walk length 3 */
        0x200000 | 0x9e,            /* bit 7 */
        0x200000 | 0x11e,           /* reserved bit 8 */
        BEYOND_WIDTH | 0x1e,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        good64();
        set(VMCS_EPT_POINTER, bad[i]);
        CTL_BAD("EPT pointer");
    }
    good64();
    set(VMCS_EPT_POINTER, 0x200000 | 0x18);             /* UC, no A/D */
    CTL_OK();
    /* Without EPT the EPTP is not looked at (no unrestricted guest here). */
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT);
    set(VMCS_EPT_POINTER, 0);
    CTL_OK();
}

static void pml_needs_ept_and_a_page(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_ENABLE_PML);
    set(VMCS_PML_ADDRESS, 0x30000);
    CTL_OK();
    set(VMCS_PML_ADDRESS, 0x30008);
    CTL_BAD("PML address not 4 KiB aligned");
    set(VMCS_PML_ADDRESS, BEYOND_WIDTH);
    CTL_BAD("PML address beyond");
    set(VMCS_PML_ADDRESS, 0x30000);
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT);
    CTL_BAD("enable PML without enable EPT");
}

static void unrestricted_guest_needs_ept(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    CTL_OK();
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT);
    CTL_BAD("unrestricted guest without enable EPT");
}

static void vm_function_controls(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_ENABLE_VMFUNC);
    CTL_OK();                                           /* no function: allowed */
    set(VMCS_VMFUNC_CONTROLS, 1);                       /* EPTP switching: not offered */
    CTL_BAD("VM-function controls");
    set(VMCS_VMFUNC_CONTROLS, 1ull << 63);
    CTL_BAD("VM-function controls");
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_VMFUNC);    /* not checked without the control */
    CTL_OK();
}

static void vmcs_shadowing_bitmaps(void **state)
{
    (void)state;
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_VMCS_SHADOWING);
    set(VMCS_VMREAD_BITMAP, 0x40000);
    set(VMCS_VMWRITE_BITMAP, 0x41000);
    CTL_OK();
    set(VMCS_VMREAD_BITMAP, 0x40001);
    CTL_BAD("VMREAD-bitmap address not 4 KiB aligned");
    set(VMCS_VMREAD_BITMAP, BEYOND_WIDTH);
    CTL_BAD("VMREAD-bitmap address beyond");
    set(VMCS_VMREAD_BITMAP, 0x40000);
    set(VMCS_VMWRITE_BITMAP, 0x41800);
    CTL_BAD("VMWRITE-bitmap address not 4 KiB aligned");
    set(VMCS_VMWRITE_BITMAP, BEYOND_WIDTH << 3);
    CTL_BAD("VMWRITE-bitmap address beyond");
    clear(VMCS_PROC_CONTROLS2, PROC2_VMCS_SHADOWING);
    CTL_OK();
}

/* ---- 27.2.1.2 VM-exit controls ------------------------------------------ */

static void exit_controls_against_caps(void **state)
{
    (void)state;
    good64();
    add(VMCS_EXIT_CONTROLS, EXIT_LOAD_PERF_GLOBAL_CTRL);  /* not offered */
    CTL_BAD("VM-exit controls");
    good64();
    add(VMCS_EXIT_CONTROLS, BIT(28));                    /* load CET: not offered */
    CTL_BAD("VM-exit controls");
    good64();
    clear(VMCS_EXIT_CONTROLS, BIT(0));                  /* default1 */
    CTL_BAD("VM-exit controls");
}

static void save_preemption_timer_needs_timer(void **state)
{
    (void)state;
    good64();
    add(VMCS_EXIT_CONTROLS, EXIT_SAVE_PREEMPTION_TIMER);
    CTL_BAD("save VMX-preemption timer value without activate");
    add(VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER);
    CTL_OK();
}

static void exit_msr_areas(void **state)
{
    (void)state;
    good64();
    set(VMCS_EXIT_MSR_STORE_ADDR, 0x13008);
    CTL_BAD("VM-exit MSR-store address not 16-byte aligned");
    good64();
    set(VMCS_EXIT_MSR_STORE_ADDR, BEYOND_WIDTH);
    CTL_BAD("VM-exit MSR-store area beyond");
    /* The area's last byte counts: 2 entries from 2^40 - 16 end at 2^40 + 15. */
    good64();
    set(VMCS_EXIT_MSR_STORE_ADDR, BEYOND_WIDTH - 16);
    CTL_BAD("VM-exit MSR-store area beyond");
    set(VMCS_EXIT_MSR_STORE_COUNT, 1);                  /* ends at 2^40 - 1 */
    CTL_OK();
    /* A zero count: the address is not looked at. */
    set(VMCS_EXIT_MSR_STORE_COUNT, 0);
    set(VMCS_EXIT_MSR_STORE_ADDR, 0x3);
    CTL_OK();
    good64();
    set(VMCS_EXIT_MSR_LOAD_ADDR, 0x13021);
    CTL_BAD("VM-exit MSR-load address not 16-byte aligned");
    good64();
    set(VMCS_EXIT_MSR_LOAD_ADDR, ~0xfull);
    CTL_BAD("VM-exit MSR-load area beyond");
    /* A huge count runs the area past the width. */
    good64();
    set(VMCS_EXIT_MSR_LOAD_ADDR, 0xff00000000ull);
    set(VMCS_EXIT_MSR_LOAD_COUNT, 0xffffffff);
    CTL_BAD("VM-exit MSR-load area beyond");
}

/* ---- 27.2.1.3 VM-entry controls ----------------------------------------- */

static void entry_controls_against_caps(void **state)
{
    (void)state;
    good64();
    add(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_PERF_GLOBAL_CTRL);
    CTL_BAD("VM-entry controls");
    good64();
    add(VMCS_ENTRY_CONTROLS, BIT(16));                   /* load BNDCFGS */
    CTL_BAD("VM-entry controls");
    good64();
    add(VMCS_ENTRY_CONTROLS, BIT(10));
    CTL_BAD("entry to SMM");
    good64();
    add(VMCS_ENTRY_CONTROLS, BIT(11));
    CTL_BAD("deactivate dual-monitor");
}

static void entry_msr_load_area(void **state)
{
    (void)state;
    good64();
    set(VMCS_ENTRY_MSR_LOAD_ADDR, 0x13044);
    CTL_BAD("VM-entry MSR-load address not 16-byte aligned");
    good64();
    set(VMCS_ENTRY_MSR_LOAD_ADDR, BEYOND_WIDTH - 32);   /* 3 entries: last byte beyond */
    CTL_BAD("VM-entry MSR-load area beyond");
    set(VMCS_ENTRY_MSR_LOAD_COUNT, 2);
    CTL_OK();
    set(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    set(VMCS_ENTRY_MSR_LOAD_ADDR, 0xfff);
    CTL_OK();
}

static void inject(uint32_t type, uint32_t vector, bool error_code)
{
    set(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | type | vector | (error_code ? INTR_INFO_DELIVER_ERROR : 0));
}

static void injection_type_and_vector(void **state)
{
    (void)state;
    good64();
    set(VMCS_ENTRY_INTR_INFO, 0x7fffffff);              /* not valid: nothing checked */
    CTL_OK();
    inject(1u << 8, 0x20, false);
    CTL_BAD("type 1");
    inject(INTR_TYPE_NMI, 3, false);
    CTL_BAD("NMI with a vector other than 2");
    inject(INTR_TYPE_NMI, 2, false);
    CTL_OK();
    inject(INTR_TYPE_HW_EXCEPTION, 32, false);
    CTL_BAD("vector above 31");
    inject(INTR_TYPE_HW_EXCEPTION, 31, false);
    CTL_OK();
    inject(INTR_TYPE_EXT_INTR, 0xff, false);
    CTL_OK();
    inject(INTR_TYPE_SW_INTR, 0x80, false);
    set(VMCS_ENTRY_INSTR_LEN, 2);
    CTL_OK();
    /* Type 7 (other event): pending MTF VM exit, vector 0, as "monitor
     * trap flag" is offered. */
    inject(7u << 8, 0, false);
    CTL_OK();
    inject(7u << 8, 1, false);
    CTL_BAD("other event with a vector other than 0");
}

static void injection_other_event_needs_mtf(void **state)
{
    (void)state;
    struct nested_phys p = tigerlake;
    p.proc &= ~(PROC_MONITOR_TRAP_FLAG * (1ull << 32));
    good64();
    compute(&p);
    inject(7u << 8, 0, false);
    CTL_BAD("type 7 without monitor trap flag");
}

static void injection_deliver_error_code(void **state)
{
    (void)state;
    static const unsigned with[] = { 8, 10, 11, 12, 13, 14, 17 };
    good64();
    for (unsigned i = 0; i < ARRAY_SIZE(with); i++) {
        inject(INTR_TYPE_HW_EXCEPTION, with[i], true);
        CTL_OK();
        inject(INTR_TYPE_HW_EXCEPTION, with[i], false);
        CTL_BAD("deliver-error-code clear");
    }
    static const unsigned without[] = { 0, 1, 2, 3, 6, 7, 9, 15, 16, 18, 19, 21, 31 };
    for (unsigned i = 0; i < ARRAY_SIZE(without); i++) {
        inject(INTR_TYPE_HW_EXCEPTION, without[i], false);
        CTL_OK();
        inject(INTR_TYPE_HW_EXCEPTION, without[i], true);
        CTL_BAD("deliver-error-code set");
    }
    /* Never for other types, even with an error-code vector. */
    inject(INTR_TYPE_EXT_INTR, 13, true);
    CTL_BAD("deliver-error-code set");
    inject(INTR_TYPE_SW_EXCEPTION, 14, true);
    set(VMCS_ENTRY_INSTR_LEN, 1);
    CTL_BAD("deliver-error-code set");
    inject(INTR_TYPE_NMI, 2, true);
    CTL_BAD("deliver-error-code set");
}

static void injection_error_code_in_real_mode(void **state)
{
    (void)state;
    /* Unrestricted guest with CR0.PE = 0: no exception has an error code. */
    good_real();
    inject(INTR_TYPE_HW_EXCEPTION, 13, false);
    all_ok();
    inject(INTR_TYPE_HW_EXCEPTION, 13, true);
    CTL_BAD("deliver-error-code set");
    /* Without unrestricted guest CR0.PE does not matter to this rule (the
     * guest-state checks refuse PE = 0 later). */
    good64();
    set(VMCS_GUEST_CR0, CR0_GOOD & ~1ull & ~(1ull << 31));
    inject(INTR_TYPE_HW_EXCEPTION, 13, false);
    CTL_BAD("deliver-error-code clear");
}

static void injection_any_error_code_with_basic56(void **state)
{
    (void)state;
    /* A CPU offering IA32_VMX_BASIC[56] (Nestor does not) relaxes the
     * vector rule, not the type and mode rules. */
    good64();
    caps.msr[MSR_VMX_BASIC - MSR_VMX_FIRST] |= BIT(56);
    inject(INTR_TYPE_HW_EXCEPTION, 6, true);
    CTL_OK();
    inject(INTR_TYPE_HW_EXCEPTION, 13, false);
    CTL_OK();
    inject(INTR_TYPE_EXT_INTR, 13, true);
    CTL_BAD("deliver-error-code set");
}

static void injection_reserved_bits_and_error_code(void **state)
{
    (void)state;
    good64();
    inject(INTR_TYPE_HW_EXCEPTION, 13, true);
    add(VMCS_ENTRY_INTR_INFO, BIT(12));
    CTL_BAD("bits 30:12");
    inject(INTR_TYPE_HW_EXCEPTION, 13, true);
    add(VMCS_ENTRY_INTR_INFO, BIT(30));
    CTL_BAD("bits 30:12");
    inject(INTR_TYPE_HW_EXCEPTION, 13, true);
    set(VMCS_ENTRY_EXCEPTION_ERROR, 0xffff);
    CTL_OK();
    set(VMCS_ENTRY_EXCEPTION_ERROR, 0x10000);
    CTL_BAD("error code bits 31:16");
    /* Without deliver-error-code the error-code field is not looked at. */
    inject(INTR_TYPE_HW_EXCEPTION, 6, false);
    set(VMCS_ENTRY_EXCEPTION_ERROR, 0xffffffff);
    CTL_OK();
}

static void injection_instruction_length(void **state)
{
    (void)state;
    static const uint32_t soft[] = { INTR_TYPE_SW_INTR, INTR_TYPE_PRIV_SW_EXCEPTION, INTR_TYPE_SW_EXCEPTION };
    for (unsigned i = 0; i < ARRAY_SIZE(soft); i++) {
        good64();
        inject(soft[i], soft[i] == INTR_TYPE_SW_INTR ? 0x80 : 3, false);
        set(VMCS_ENTRY_INSTR_LEN, 15);
        CTL_OK();
        set(VMCS_ENTRY_INSTR_LEN, 16);
        CTL_BAD("instruction length above 15");
        set(VMCS_ENTRY_INSTR_LEN, 0);
        CTL_OK();                                       /* IA32_VMX_MISC[30] is 1 */
    }
    /* Hardware exceptions and external interrupts ignore it. */
    good64();
    inject(INTR_TYPE_EXT_INTR, 0x30, false);
    set(VMCS_ENTRY_INSTR_LEN, 0xffffffff);
    CTL_OK();
    /* On a CPU without MISC[30], length 0 is refused. */
    struct nested_phys p = tigerlake;
    p.misc &= ~BIT(30);
    good64();
    compute(&p);
    inject(INTR_TYPE_SW_EXCEPTION, 3, false);
    set(VMCS_ENTRY_INSTR_LEN, 0);
    CTL_BAD("instruction length 0 without IA32_VMX_MISC[30]");
    set(VMCS_ENTRY_INSTR_LEN, 1);
    CTL_OK();
}

/* ---- 27.2.2-27.2.4 host state ------------------------------------------- */

static void host_cr0_cr4_fixed_bits(void **state)
{
    (void)state;
    good64();
    set(VMCS_HOST_CR0, CR0_GOOD & ~(1ull << 5));        /* NE */
    HOST_BAD("host CR0");
    set(VMCS_HOST_CR0, CR0_GOOD & ~1ull);               /* PE */
    HOST_BAD("host CR0");
    set(VMCS_HOST_CR0, CR0_GOOD | (1ull << 32));
    HOST_BAD("host CR0");
    /* NW and CD are never checked. */
    set(VMCS_HOST_CR0, CR0_GOOD | (3ull << 29));
    HOST_OK();
    set(VMCS_HOST_CR4, CR4_HOST & ~(1ull << 13));       /* VMXE */
    HOST_BAD("host CR4");
    set(VMCS_HOST_CR4, CR4_HOST | (1ull << 18));        /* OSXSAVE: XSAVE is hidden */
    HOST_BAD("host CR4");
    set(VMCS_HOST_CR4, CR4_HOST | (1ull << 12));        /* LA57 */
    HOST_BAD("host CR4");
}

static void host_cr3_and_sysenter(void **state)
{
    (void)state;
    good64();
    set(VMCS_HOST_CR3, BEYOND_WIDTH | 0x1000);
    HOST_BAD("host CR3");
    set(VMCS_HOST_CR3, 0xfffffff000ull);
    HOST_OK();
    set(VMCS_HOST_SYSENTER_ESP, NONCANONICAL);
    HOST_BAD("IA32_SYSENTER_ESP");
    good64();
    set(VMCS_HOST_SYSENTER_EIP, 0x8000000000000000ull);
    HOST_BAD("IA32_SYSENTER_EIP");
    set(VMCS_HOST_SYSENTER_EIP, 0xffff800000000000ull);
    HOST_OK();
}

static void host_pat_and_efer(void **state)
{
    (void)state;
    good64();
    set(VMCS_HOST_IA32_PAT, PAT_GOOD | (2ull << 56));
    HOST_BAD("host IA32_PAT");
    set(VMCS_HOST_IA32_PAT, PAT_GOOD | (8ull << 8));
    HOST_BAD("host IA32_PAT");
    clear(VMCS_EXIT_CONTROLS, EXIT_LOAD_IA32_PAT);      /* not loaded: not checked */
    HOST_OK();
    good64();
    set(VMCS_HOST_IA32_EFER, EFER_LONG | BIT(12));      /* SVME: reserved on Intel */
    HOST_BAD("host IA32_EFER reserved");
    set(VMCS_HOST_IA32_EFER, EFER_LONG & ~BIT(10));
    HOST_BAD("host IA32_EFER.LMA");
    set(VMCS_HOST_IA32_EFER, EFER_LONG & ~BIT(8));
    HOST_BAD("host IA32_EFER.LME");
    clear(VMCS_EXIT_CONTROLS, EXIT_LOAD_IA32_EFER);
    HOST_OK();
}

static void host_selectors(void **state)
{
    (void)state;
    static const uint32_t sel[] = { VMCS_HOST_ES_SEL, VMCS_HOST_CS_SEL, VMCS_HOST_SS_SEL, VMCS_HOST_DS_SEL,
                                    VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL, VMCS_HOST_TR_SEL };
    for (unsigned i = 0; i < ARRAY_SIZE(sel); i++) {
        good64();
        add(sel[i], 3);
        HOST_BAD("RPL or TI");
        good64();
        add(sel[i], 4);
        HOST_BAD("RPL or TI");
    }
    good64();
    set(VMCS_HOST_CS_SEL, 0);
    HOST_BAD("host CS selector 0");
    good64();
    set(VMCS_HOST_TR_SEL, 0);
    HOST_BAD("host TR selector 0");
    /* SS may be 0 with a 64-bit host, and DS, ES, FS, GS always. */
    good64();
    set(VMCS_HOST_SS_SEL, 0);
    set(VMCS_HOST_DS_SEL, 0);
    set(VMCS_HOST_ES_SEL, 0);
    HOST_OK();
}

static void host_bases_canonical(void **state)
{
    (void)state;
    static const uint32_t base[] = { VMCS_HOST_FS_BASE, VMCS_HOST_GS_BASE, VMCS_HOST_GDTR_BASE,
                                     VMCS_HOST_IDTR_BASE, VMCS_HOST_TR_BASE };
    static const char *const name[] = { "FS", "GS", "GDTR", "IDTR", "TR" };
    for (unsigned i = 0; i < ARRAY_SIZE(base); i++) {
        good64();
        set(base[i], NONCANONICAL);
        char want[32];
        snprintf(want, sizeof(want), "host %s base", name[i]);
        HOST_BAD(want);
        set(base[i], 0x00007ffffffff000ull);
        HOST_OK();
    }
}

/* A host with "host address-space size" 0 (32-bit L1). */
static void host32(void)
{
    good32();
    clear(VMCS_EXIT_CONTROLS, EXIT_HOST_ADDR_SPACE_SIZE);
    set(VMCS_HOST_IA32_EFER, 0x800);
    set(VMCS_HOST_RIP, 0xc1000000);
    set(VMCS_HOST_CR4, CR4_HOST & ~(1ull << 5));        /* 2-level paging */
}

static void host_address_space_size(void **state)
{
    (void)state;
    host32();
    HOST_OK();
    assert_int_equal(vmentry_check_host_lma(vmcs, false, NULL), 0);
    /* "Host address-space size" 0: no IA-32e mode guest, no CR4.PCIDE,
     * RIP below 4 GiB, SS not 0. */
    add(VMCS_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    HOST_BAD("IA-32e mode guest without host address-space size");
    host32();
    add(VMCS_HOST_CR4, 1ull << 17);
    HOST_BAD("host CR4.PCIDE");
    host32();
    set(VMCS_HOST_RIP, 0x100000000ull);
    HOST_BAD("host RIP above 4 GiB");
    host32();
    set(VMCS_HOST_SS_SEL, 0);
    HOST_BAD("host SS selector 0");
    /* "Host address-space size" 1: CR4.PAE and a canonical RIP. */
    good64();
    set(VMCS_HOST_CR4, CR4_HOST & ~(1ull << 5));
    HOST_BAD("host CR4.PAE");
    good64();
    set(VMCS_HOST_RIP, NONCANONICAL);
    HOST_BAD("host RIP not canonical");
    /* A 32-bit guest under a 64-bit host is fine. */
    good32();
    HOST_OK();
}

static void host_lma_rules(void **state)
{
    (void)state;
    const char *why = NULL;
    good64();
    assert_int_equal(vmentry_check_host_lma(vmcs, true, &why), 0);
    assert_int_equal(vmentry_check_host_lma(vmcs, false, &why), VMENTRY_ERR_HOST);
    assert_non_null(strstr(why, "IA-32e mode guest"));
    good32();
    assert_int_equal(vmentry_check_host_lma(vmcs, false, &why), VMENTRY_ERR_HOST);
    assert_non_null(strstr(why, "host address-space size with the processor outside"));
    host32();
    assert_int_equal(vmentry_check_host_lma(vmcs, true, &why), VMENTRY_ERR_HOST);
    assert_non_null(strstr(why, "host address-space size clear"));
    assert_int_equal(vmentry_check_host_lma(vmcs, false, NULL), 0);
}

/* ---- 27.3.1.1 guest control registers, debug registers, MSRs ------------ */

static void guest_cr0_fixed_bits(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_CR0, CR0_GOOD & ~(1ull << 5));       /* NE */
    GUEST_BAD("guest CR0 not allowed");
    set(VMCS_GUEST_CR0, CR0_GOOD | (1ull << 40));
    GUEST_BAD("guest CR0 not allowed");
    set(VMCS_GUEST_CR0, CR0_GOOD | (3ull << 29));       /* NW CD: never checked */
    GUEST_OK();
    /* Without unrestricted guest PE and PG are fixed to 1. */
    good32();
    set(VMCS_GUEST_CR0, CR0_GOOD & ~(1ull << 31));
    GUEST_BAD("guest CR0 not allowed");
    /* With it they may be 0, but PG still needs PE. */
    good_real();
    set(VMCS_GUEST_CR0, 0x30 | 1);                      /* protected mode, no paging */
    seg(CS, 0x08, 0, 0xffffffff, 0xc09b);
    GUEST_OK();
    set(VMCS_GUEST_CR0, 0x30 | (1ull << 31));
    GUEST_BAD("CR0.PG set with CR0.PE clear");
    good_real();
    set(VMCS_GUEST_CR0, 0x10);                          /* NE still fixed */
    GUEST_BAD("guest CR0 not allowed");
}

static void guest_cr4_fixed_bits(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_CR4, CR4_GUEST & ~(1ull << 13));
    GUEST_BAD("guest CR4");
    set(VMCS_GUEST_CR4, CR4_GUEST | (1ull << 22));      /* PKE: not offered */
    GUEST_BAD("guest CR4");
    set(VMCS_GUEST_CR4, CR4_GUEST | (1ull << 23));      /* CET: not offered */
    GUEST_BAD("guest CR4");
    good_real();
    set(VMCS_GUEST_CR4, 0);                             /* VMXE stays fixed */
    GUEST_BAD("guest CR4");
}

static void guest_ia32e_mode_and_paging(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_CR4, CR4_GUEST & ~(1ull << 5));
    GUEST_BAD("IA-32e mode guest with guest CR4.PAE clear");
    /* PG clear with IA-32e mode (EFER not loaded, so EFER does not object
     * first). */
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    clear(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_IA32_EFER);
    set(VMCS_GUEST_CR0, CR0_GOOD & ~(1ull << 31));
    GUEST_BAD("IA-32e mode guest with guest CR0.PG clear");
    good32();
    set(VMCS_GUEST_CR4, CR4_HOST | (1ull << 17));
    GUEST_BAD("CR4.PCIDE set outside IA-32e mode");
}

static void guest_debugctl_and_dr7(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_IA32_DEBUGCTL, 3);                   /* LBR, BTF: architectural */
    GUEST_OK();
    set(VMCS_GUEST_IA32_DEBUGCTL, 1ull << 6);           /* TR: no branch trace messages */
    GUEST_BAD("IA32_DEBUGCTL");
    set(VMCS_GUEST_IA32_DEBUGCTL, 1ull << 32);
    GUEST_BAD("IA32_DEBUGCTL");
    good64();
    set(VMCS_GUEST_DR7, 0x100000400ull);
    GUEST_BAD("DR7 bits 63:32");
    set(VMCS_GUEST_DR7, 0xffffffffull);
    GUEST_OK();
    /* Without "load debug controls" neither field is checked. */
    good64();
    clear(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS);
    set(VMCS_GUEST_IA32_DEBUGCTL, ~0ull);
    set(VMCS_GUEST_DR7, ~0ull);
    GUEST_OK();
}

static void guest_cr3_and_sysenter(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_CR3, BEYOND_WIDTH);
    GUEST_BAD("guest CR3");
    set(VMCS_GUEST_CR3, 0xfffffff000ull | 0xfff);       /* PCID bits are fine */
    GUEST_OK();
    set(VMCS_GUEST_SYSENTER_ESP, NONCANONICAL);
    GUEST_BAD("guest IA32_SYSENTER_ESP");
    good64();
    set(VMCS_GUEST_SYSENTER_EIP, 0x0001000000000000ull);
    GUEST_BAD("guest IA32_SYSENTER_EIP");
}

static void guest_pat_and_efer(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_IA32_PAT, (PAT_GOOD & ~0xff0000ull) | (3ull << 16));
    GUEST_BAD("guest IA32_PAT");
    clear(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_IA32_PAT);
    GUEST_OK();
    good64();
    set(VMCS_GUEST_IA32_EFER, EFER_LONG | BIT(14));     /* FFXSR: AMD only */
    GUEST_BAD("guest IA32_EFER reserved");
    set(VMCS_GUEST_IA32_EFER, EFER_LONG & ~BIT(10));
    GUEST_BAD("guest IA32_EFER.LMA differs from IA-32e mode guest");
    good32();
    set(VMCS_GUEST_IA32_EFER, 0x801 | BIT(8));          /* LME with PG, LMA clear */
    GUEST_BAD("LMA differs from LME with CR0.PG set");
    /* Without paging LME may differ from LMA (about to enter long mode). */
    good_real();
    set(VMCS_GUEST_IA32_EFER, BIT(8));
    GUEST_OK();
    /* Not loaded: not checked. */
    good64();
    clear(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_IA32_EFER);
    set(VMCS_GUEST_IA32_EFER, ~0ull);
    GUEST_OK();
}

/* ---- 27.3.1.2 guest segment registers ----------------------------------- */

static void guest_selectors(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_TR_SEL, 0x1c);
    GUEST_BAD("TR selector TI");
    good64();
    seg(LDTR, 0x20, 0x8000, 0xff, 0x82);
    GUEST_OK();
    set(VMCS_GUEST_LDTR_SEL, 0x2c);
    GUEST_BAD("LDTR selector TI");
    set(VMCS_GUEST_LDTR_AR, 0x10000);                   /* unusable: not checked */
    GUEST_OK();
    good64();
    set(VMCS_GUEST_SS_SEL, 0x13);
    GUEST_BAD("SS selector RPL differs from CS RPL");
    /* Unrestricted guest and virtual-8086 mode skip that rule. */
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    GUEST_OK();
}

static void guest_bases(void **state)
{
    (void)state;
    static const struct { unsigned s; const char *msg; } canon[] = {
        { TR, "guest TR base" }, { FS, "guest FS base" }, { GS, "guest GS base" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(canon); i++) {
        good64();
        set(VMCS_GUEST_ES_BASE + 2 * canon[i].s, NONCANONICAL);
        GUEST_BAD(canon[i].msg);
    }
    good64();
    set(VMCS_GUEST_LDTR_BASE, NONCANONICAL);            /* unusable LDTR: not checked */
    GUEST_OK();
    seg(LDTR, 0x20, NONCANONICAL, 0xff, 0x82);
    GUEST_BAD("guest LDTR base");
    good64();
    set(VMCS_GUEST_CS_BASE, 1ull << 32);
    GUEST_BAD("guest CS base bits 63:32");
    static const struct { unsigned s; const char *msg; } high[] = {
        { SS, "guest SS base bits 63:32" }, { DS, "guest DS base bits 63:32" }, { ES, "guest ES base bits 63:32" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(high); i++) {
        good64();
        set(VMCS_GUEST_ES_BASE + 2 * high[i].s, 1ull << 32);
        GUEST_BAD(high[i].msg);
        add(VMCS_GUEST_ES_AR + 2 * high[i].s, 0x10000);  /* unusable: not checked */
        GUEST_OK();
    }
}

static void guest_cs_access_rights(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_CS_AR, 0xa09a);                      /* not accessed */
    GUEST_BAD("guest CS access rights type");
    set(VMCS_GUEST_CS_AR, 0xa093);                      /* data: only with unrestricted guest */
    GUEST_BAD("guest CS access rights type");
    set(VMCS_GUEST_CS_AR, 0xa08b);                      /* S clear */
    GUEST_BAD("guest CS access rights S");
    set(VMCS_GUEST_CS_AR, 0xa01b);                      /* P clear */
    GUEST_BAD("guest CS access rights P");
    set(VMCS_GUEST_CS_AR, 0xa19b);
    GUEST_BAD("guest CS access rights bits 11:8");
    set(VMCS_GUEST_CS_AR, 0xa09b | (1u << 17));
    GUEST_BAD("guest CS access rights bits 31:17");
    set(VMCS_GUEST_CS_AR, 0xe09b);                      /* L and D/B */
    GUEST_BAD("L and D/B");
    set(VMCS_GUEST_RIP, 0x1000);
    set(VMCS_GUEST_CS_AR, 0xc09b);                      /* compatibility mode */
    GUEST_OK();
    /* G against the limit: limit[31:20] set needs G, limit[11:0] not all
     * ones forbids it. */
    set(VMCS_GUEST_CS_AR, 0x209b);
    GUEST_BAD("guest CS access rights G");
    set(VMCS_GUEST_CS_LIMIT, 0xfffff);
    GUEST_OK();
    set(VMCS_GUEST_CS_LIMIT, 0xffffe);
    set(VMCS_GUEST_CS_AR, 0xa09b);
    GUEST_BAD("guest CS access rights G");
    /* CS is checked even when marked unusable. */
    good64();
    set(VMCS_GUEST_CS_AR, 0xa09b | 0x10000);
    GUEST_OK();
    set(VMCS_GUEST_CS_AR, 0xa08b | 0x10000);
    GUEST_BAD("guest CS access rights S");
}

static void guest_cs_dpl(void **state)
{
    (void)state;
    /* Non-conforming: DPL = SS.DPL. */
    good64();
    set(VMCS_GUEST_CS_AR, 0xa0bb);                      /* DPL 1 */
    GUEST_BAD("guest CS access rights DPL");
    /* Conforming: DPL <= SS.DPL. */
    set(VMCS_GUEST_CS_AR, 0xa09f);
    GUEST_OK();
    seg(SS, 0x10, 0, 0xffffffff, 0xc093);
    set(VMCS_GUEST_CS_AR, 0xa0bf);                      /* conforming DPL 1 > SS.DPL 0 */
    GUEST_BAD("guest CS access rights DPL");
    /* CPL 3. */
    good64();
    seg(CS, 0x1b, 0, 0xffffffff, 0xa0fb);
    seg(SS, 0x23, 0, 0xffffffff, 0xc0f3);
    GUEST_OK();
    /* Type 3 (unrestricted guest) needs DPL 0. */
    good_real();
    set(VMCS_GUEST_CS_AR, 0x93);
    GUEST_OK();
    set(VMCS_GUEST_CS_AR, 0xb3);
    GUEST_BAD("guest CS access rights DPL");
}

static void guest_ss_access_rights(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_SS_AR, 0xc091);                      /* read-only data */
    GUEST_BAD("guest SS access rights type");
    set(VMCS_GUEST_SS_AR, 0xc097);                      /* expand-down r/w: fine */
    GUEST_OK();
    set(VMCS_GUEST_SS_AR, 0xc09b);                      /* code */
    GUEST_BAD("guest SS access rights type");
    set(VMCS_GUEST_CS_AR, 0xa0bb);                      /* so CS.DPL = SS.DPL holds */
    set(VMCS_GUEST_SS_AR, 0xc0b3);                      /* DPL 1, RPL 0 */
    GUEST_BAD("guest SS access rights DPL");
    set(VMCS_GUEST_CS_AR, 0xa09b);
    set(VMCS_GUEST_SS_AR, 0xc013);
    GUEST_BAD("guest SS access rights P");
    /* Unusable SS: only its DPL is checked. */
    set(VMCS_GUEST_SS_AR, 0x10000);
    GUEST_OK();
    set(VMCS_GUEST_SS_AR, 0x10060);                     /* DPL 3 differs from RPL 0 */
    set(VMCS_GUEST_CS_AR, 0xa0fb);
    GUEST_BAD("guest SS access rights DPL");
    /* With unrestricted guest SS.DPL may differ from RPL, but must be 0 in
     * real mode. */
    good_real();
    set(VMCS_GUEST_SS_SEL, 3);
    GUEST_OK();
    set(VMCS_GUEST_SS_AR, 0xf3);
    set(VMCS_GUEST_CS_AR, 0xfb);
    GUEST_BAD("guest SS access rights DPL");
}

static void guest_data_segment_access_rights(void **state)
{
    (void)state;
    static const unsigned regs[] = { DS, ES, FS, GS };
    static const char *const names[] = { "DS", "ES", "FS", "GS" };
    for (unsigned i = 0; i < ARRAY_SIZE(regs); i++) {
        uint32_t enc = VMCS_GUEST_ES_AR + 2 * regs[i];
        char msg[64];
        good64();
        seg(regs[i], 0x10, 0, 0xffffffff, 0xc093);
        GUEST_OK();
        set(enc, 0xc092);                               /* not accessed */
        snprintf(msg, sizeof(msg), "guest %s access rights type", names[i]);
        GUEST_BAD(msg);
        set(enc, 0xc099);                               /* execute-only code */
        GUEST_BAD(msg);
        set(enc, 0xc09b);                               /* readable code: fine */
        GUEST_OK();
        set(enc, 0xc083);
        snprintf(msg, sizeof(msg), "guest %s access rights S", names[i]);
        GUEST_BAD(msg);
        set(enc, 0xc013);
        snprintf(msg, sizeof(msg), "guest %s access rights P", names[i]);
        GUEST_BAD(msg);
        set(enc, 0xc493);
        snprintf(msg, sizeof(msg), "guest %s access rights bits 11:8", names[i]);
        GUEST_BAD(msg);
        set(enc, 0xc093 | (1u << 20));
        snprintf(msg, sizeof(msg), "guest %s access rights bits 31:17", names[i]);
        GUEST_BAD(msg);
        set(enc, 0x4093);                               /* limit 4 GiB - 1 with G clear */
        snprintf(msg, sizeof(msg), "guest %s access rights G", names[i]);
        GUEST_BAD(msg);
        /* DPL below RPL for data and non-conforming code. */
        set(VMCS_GUEST_ES_SEL + 2 * regs[i], 0x13);
        set(enc, 0xc0b3);                               /* DPL 1 < RPL 3 */
        snprintf(msg, sizeof(msg), "guest %s access rights DPL", names[i]);
        GUEST_BAD(msg);
        set(enc, 0xc09f);                               /* conforming code: no DPL rule */
        GUEST_OK();
        set(enc, 0xc0f3);
        GUEST_OK();
        /* Unusable: nothing checked. */
        set(enc, 0x10000 | 0xffff);
        GUEST_OK();
    }
    /* Unrestricted guest drops the DPL/RPL rule. */
    good64();
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    seg(DS, 0x13, 0, 0xffffffff, 0xc093);
    GUEST_OK();
}

static void guest_tr_and_ldtr_access_rights(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_TR_AR, 0x83);                        /* 16-bit busy TSS in IA-32e mode */
    GUEST_BAD("guest TR access rights type");
    set(VMCS_GUEST_TR_AR, 0x89);                        /* available TSS */
    GUEST_BAD("guest TR access rights type");
    set(VMCS_GUEST_TR_AR, 0x9b);
    GUEST_BAD("guest TR access rights S");
    set(VMCS_GUEST_TR_AR, 0x0b);
    GUEST_BAD("guest TR access rights P");
    set(VMCS_GUEST_TR_AR, 0x18b);
    GUEST_BAD("guest TR access rights bits 11:8");
    set(VMCS_GUEST_TR_AR, 0x808b);
    GUEST_BAD("guest TR access rights G");
    set(VMCS_GUEST_TR_AR, 0x1008b);
    GUEST_BAD("guest TR unusable");
    set(VMCS_GUEST_TR_AR, 0x4008b);
    GUEST_BAD("guest TR access rights bits 31:17");
    good32();
    set(VMCS_GUEST_TR_AR, 0x83);                        /* 16-bit busy TSS outside IA-32e */
    GUEST_OK();
    good64();
    seg(LDTR, 0x20, 0x8000, 0xff, 0x82);
    GUEST_OK();
    set(VMCS_GUEST_LDTR_AR, 0x83);
    GUEST_BAD("guest LDTR access rights type");
    set(VMCS_GUEST_LDTR_AR, 0x92);
    GUEST_BAD("guest LDTR access rights S");
    set(VMCS_GUEST_LDTR_AR, 0x02);
    GUEST_BAD("guest LDTR access rights P");
    set(VMCS_GUEST_LDTR_AR, 0x882);
    GUEST_BAD("guest LDTR access rights bits 11:8");
    set(VMCS_GUEST_LDTR_AR, 0x8082);
    GUEST_BAD("guest LDTR access rights G");
    set(VMCS_GUEST_LDTR_AR, 0x80082);
    GUEST_BAD("guest LDTR access rights bits 31:17");
}

static void guest_virtual_8086(void **state)
{
    (void)state;
    good_v86();
    set(VMCS_GUEST_SS_BASE, 0x30010);
    GUEST_BAD("guest SS base not selector << 4");
    good_v86();
    set(VMCS_GUEST_FS_LIMIT, 0xfffff);
    GUEST_BAD("guest FS limit not 0xffff");
    good_v86();
    set(VMCS_GUEST_CS_AR, 0xfb);
    GUEST_BAD("guest CS access rights not 0xf3");
    good_v86();
    set(VMCS_GUEST_GS_AR, 0x100f3);                     /* even unusable */
    GUEST_BAD("guest GS access rights not 0xf3");
    /* TR keeps its own rules. */
    good_v86();
    set(VMCS_GUEST_TR_AR, 0x89);
    GUEST_BAD("guest TR access rights type");
    /* RFLAGS.VM needs protected mode outside IA-32e mode. */
    good_v86();
    add(VMCS_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    set(VMCS_GUEST_IA32_EFER, EFER_LONG);
    GUEST_BAD("RFLAGS.VM set in IA-32e mode");
    good_v86();
    add(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST);
    set(VMCS_GUEST_CR0, 0x30);
    GUEST_BAD("RFLAGS.VM set in IA-32e mode or with CR0.PE clear");
}

/* ---- 27.3.1.3-27.3.1.4 descriptor tables, RIP, RFLAGS ------------------- */

static void guest_descriptor_tables(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_GDTR_BASE, NONCANONICAL);
    GUEST_BAD("guest GDTR base");
    good64();
    set(VMCS_GUEST_IDTR_BASE, 0x8000000000000000ull);
    GUEST_BAD("guest IDTR base");
    good64();
    set(VMCS_GUEST_GDTR_LIMIT, 0x10000);
    GUEST_BAD("guest GDTR limit");
    good64();
    set(VMCS_GUEST_IDTR_LIMIT, 0xffff0fff);
    GUEST_BAD("guest IDTR limit");
    set(VMCS_GUEST_IDTR_LIMIT, 0xffff);
    GUEST_OK();
}

static void guest_rip(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_RIP, NONCANONICAL);
    GUEST_BAD("guest RIP not canonical");
    set(VMCS_GUEST_RIP, 0x00007ffffffffff0ull);
    GUEST_OK();
    /* Compatibility mode (CS.L = 0) and 32-bit guests: bits 63:32 are 0. */
    set(VMCS_GUEST_CS_AR, 0xc09b);
    GUEST_BAD("guest RIP bits 63:32");
    set(VMCS_GUEST_RIP, 0xfffffff0);
    GUEST_OK();
    good32();
    set(VMCS_GUEST_RIP, 0x100000000ull);
    GUEST_BAD("guest RIP bits 63:32");
}

static void guest_rflags(void **state)
{
    (void)state;
    static const uint64_t bad[] = { 0, 0x2 | BIT(3), 0x2 | BIT(5), 0x2 | BIT(15), 0x2 | BIT(22), 0x2 | BIT(63) };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        good64();
        set(VMCS_GUEST_RFLAGS, bad[i]);
        GUEST_BAD("guest RFLAGS reserved");
    }
    good64();
    set(VMCS_GUEST_RFLAGS, 0x3d7fd7);                   /* every defined flag but VM */
    GUEST_OK();
    /* IF for an injected external interrupt. */
    good64();
    inject(INTR_TYPE_EXT_INTR, 0x20, false);
    GUEST_BAD("RFLAGS.IF clear while injecting an external interrupt");
    set(VMCS_GUEST_RFLAGS, 0x202);
    GUEST_OK();
    inject(INTR_TYPE_NMI, 2, false);                    /* NMIs ignore IF */
    set(VMCS_GUEST_RFLAGS, 0x2);
    GUEST_OK();
}

/* ---- 27.3.1.5 non-register state ---------------------------------------- */

static void guest_activity_state(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    GUEST_OK();
    /* Shutdown and wait-for-SIPI are not offered (IA32_VMX_MISC[8:7]). */
    for (uint32_t a = 2; a <= 4; a++) {
        set(VMCS_GUEST_ACTIVITY_STATE, a);
        GUEST_BAD("activity state not supported");
    }
    set(VMCS_GUEST_ACTIVITY_STATE, 0xffffffff);
    GUEST_BAD("activity state not supported");
    /* HLT needs SS.DPL = 0. */
    good64();
    seg(CS, 0x1b, 0, 0xffffffff, 0xa0fb);
    seg(SS, 0x23, 0, 0xffffffff, 0xc0f3);
    set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    GUEST_BAD("HLT with SS.DPL not 0");
    /* HLT is refused with blocking by STI or MOV SS. */
    good64();
    set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    set(VMCS_GUEST_RFLAGS, 0x202);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_BAD("not active with blocking by STI or MOV SS");
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS);
    GUEST_BAD("not active with blocking by STI or MOV SS");
}

static void guest_activity_blocks_injection(void **state)
{
    (void)state;
    static const struct { uint32_t type, vec; bool err, ok; } ev[] = {
        { INTR_TYPE_EXT_INTR, 0x20, false, true },
        { INTR_TYPE_NMI, 2, false, true },
        { INTR_TYPE_HW_EXCEPTION, 1, false, true },     /* #DB */
        { INTR_TYPE_HW_EXCEPTION, 18, false, true },    /* #MC */
        { 7u << 8, 0, false, true },                    /* pending MTF VM exit */
        { INTR_TYPE_HW_EXCEPTION, 13, true, false },
        { INTR_TYPE_HW_EXCEPTION, 6, false, false },
        { INTR_TYPE_SW_INTR, 0x80, false, false },
        { INTR_TYPE_SW_EXCEPTION, 3, false, false },
        { INTR_TYPE_PRIV_SW_EXCEPTION, 1, false, false },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(ev); i++) {
        good64();
        set(VMCS_GUEST_RFLAGS, 0x202);
        set(VMCS_ENTRY_INSTR_LEN, 2);
        inject(ev[i].type, ev[i].vec, ev[i].err);
        CTL_OK();
        GUEST_OK();                                     /* active: anything */
        set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
        if (ev[i].ok)
            GUEST_OK();
        else
            GUEST_BAD("activity state blocks the injected event");
    }
}

/* Shutdown and wait-for-SIPI, on a CPU that would offer them (Nestor
 * does not: IA32_VMX_MISC[8:7] = 0). */
static void guest_other_activity_states(void **state)
{
    (void)state;
    good64();
    caps.msr[MSR_VMX_MISC - MSR_VMX_FIRST] |= BIT(7) | BIT(8);
    set(VMCS_GUEST_ACTIVITY_STATE, 2);
    GUEST_OK();
    inject(INTR_TYPE_NMI, 2, false);
    GUEST_OK();
    inject(INTR_TYPE_HW_EXCEPTION, 18, false);
    GUEST_OK();
    inject(INTR_TYPE_HW_EXCEPTION, 1, false);
    GUEST_BAD("activity state blocks the injected event");
    set(VMCS_GUEST_RFLAGS, 0x202);
    inject(INTR_TYPE_EXT_INTR, 0x20, false);
    GUEST_BAD("activity state blocks the injected event");
    set(VMCS_GUEST_ACTIVITY_STATE, 3);
    set(VMCS_ENTRY_INTR_INFO, 0);
    GUEST_OK();
    inject(INTR_TYPE_NMI, 2, false);
    GUEST_BAD("activity state blocks the injected event");
    set(VMCS_GUEST_ACTIVITY_STATE, 4);
    set(VMCS_ENTRY_INTR_INFO, 0);
    GUEST_BAD("activity state not supported");
}

static void guest_interruptibility(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_RFLAGS, 0x202);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_OK();
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS | BIT(3));
    GUEST_OK();
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(5));
    GUEST_BAD("bits 31:5");
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(31));
    GUEST_BAD("bits 31:5");
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(4));
    GUEST_BAD("enclave interruption");
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS);
    GUEST_BAD("both STI and MOV SS");
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(2));
    GUEST_BAD("blocking by SMI");
    good64();
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_BAD("blocking by STI with RFLAGS.IF clear");
}

static void guest_interruptibility_with_injection(void **state)
{
    (void)state;
    /* External interrupt: neither STI nor MOV SS blocking. */
    good64();
    set(VMCS_GUEST_RFLAGS, 0x202);
    inject(INTR_TYPE_EXT_INTR, 0x20, false);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_BAD("while injecting an external interrupt");
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS);
    GUEST_BAD("while injecting an external interrupt");
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(3));           /* NMI blocking: irrelevant */
    GUEST_OK();
    /* NMI: no MOV SS blocking, and (Nestor's choice) no STI blocking. */
    inject(INTR_TYPE_NMI, 2, false);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS);
    GUEST_BAD("blocking by MOV SS while injecting an NMI");
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_BAD("blocking by STI while injecting an NMI");
    /* With virtual NMIs an injected NMI cannot be virtually blocked. */
    set(VMCS_GUEST_INTERRUPTIBILITY, BIT(3));
    GUEST_BAD("virtual-NMI blocking while injecting an NMI");
    clear(VMCS_PIN_CONTROLS, PIN_VIRTUAL_NMIS);
    GUEST_OK();
    /* Exceptions do not care. */
    good64();
    set(VMCS_GUEST_RFLAGS, 0x202);
    inject(INTR_TYPE_HW_EXCEPTION, 6, false);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS | BIT(3));
    GUEST_OK();
}

static void guest_pending_debug_exceptions(void **state)
{
    (void)state;
    good64();
    set(VMCS_GUEST_PENDING_DBG, 0xf | BIT(12) | BIT(14));   /* B3-B0, enabled bp, BS */
    GUEST_OK();
    static const uint64_t rsvd[] = { BIT(4), BIT(11), BIT(13), BIT(15), BIT(17), BIT(63) };
    for (unsigned i = 0; i < ARRAY_SIZE(rsvd); i++) {
        set(VMCS_GUEST_PENDING_DBG, rsvd[i]);
        GUEST_BAD("pending debug exceptions reserved");
    }
    set(VMCS_GUEST_PENDING_DBG, BIT(16) | BIT(12));
    GUEST_BAD("RTM");
}

static void guest_pending_debug_bs(void **state)
{
    (void)state;
    /* The BS rule applies with blocking by STI (or MOV SS, or in HLT). */
    good64();
    set(VMCS_GUEST_RFLAGS, 0x302);                      /* TF IF */
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_STI);
    GUEST_BAD("BS clear with RFLAGS.TF set");
    set(VMCS_GUEST_PENDING_DBG, BIT(14));
    GUEST_OK();
    set(VMCS_GUEST_RFLAGS, 0x202);                      /* TF clear */
    GUEST_BAD("BS set with RFLAGS.TF clear");
    /* BTF set: single-step traps become branch traps, BS must be 0. */
    good64();
    clear(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS);
    set(VMCS_GUEST_IA32_DEBUGCTL, BIT(1));
    set(VMCS_GUEST_RFLAGS, 0x102);
    set(VMCS_GUEST_INTERRUPTIBILITY, INTERRUPTIBILITY_MOV_SS);
    GUEST_OK();
    set(VMCS_GUEST_PENDING_DBG, BIT(14));
    GUEST_BAD("BS set with RFLAGS.TF clear or BTF set");
    /* In HLT too. */
    good64();
    set(VMCS_GUEST_RFLAGS, 0x102);
    set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    GUEST_BAD("BS clear with RFLAGS.TF set");
    /* Active without blocking: BS is free. */
    set(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    GUEST_OK();
    set(VMCS_GUEST_PENDING_DBG, BIT(14));
    set(VMCS_GUEST_RFLAGS, 0x2);
    GUEST_OK();
}

static void guest_vmcs_link_pointer(void **state)
{
    (void)state;
    good64();
    set(VMCS_LINK_POINTER, 0x50000);                    /* the revision check is the caller's */
    GUEST_OK();
    set(VMCS_LINK_POINTER, 0x50010);
    GUEST_BAD_LINK("VMCS link pointer not 4 KiB aligned");
    set(VMCS_LINK_POINTER, BEYOND_WIDTH);
    GUEST_BAD_LINK("VMCS link pointer beyond");
    set(VMCS_LINK_POINTER, 0xfffffffffffff000ull);
    GUEST_BAD_LINK("VMCS link pointer beyond");
    /* Another failure first gives qualification 0. */
    set(VMCS_GUEST_RFLAGS, 0);
    GUEST_BAD("RFLAGS");
}

static void guest_pdptes_with_ept(void **state)
{
    (void)state;
    static const uint64_t rsvd[] = { BIT(1), BIT(2), BIT(5), BIT(8), BIT(63), BEYOND_WIDTH };
    static const char *const msg[] = { "PDPTE0", "PDPTE1", "PDPTE2", "PDPTE3" };
    for (unsigned p = 0; p < 4; p++) {
        for (unsigned i = 0; i < ARRAY_SIZE(rsvd); i++) {
            good32();
            set(VMCS_GUEST_PDPTE0 + 2 * p, 0x7000 | 1 | rsvd[i]);
            GUEST_BAD(msg[p]);
            set(VMCS_GUEST_PDPTE0 + 2 * p, 0x7000 | rsvd[i]);   /* not present: ignored */
            GUEST_OK();
        }
    }
    /* Not checked without EPT (the caller loads them from memory), without
     * PAE, without paging, or in IA-32e mode. */
    good32();
    set(VMCS_GUEST_PDPTE1, 0x7007);
    clear(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT);
    GUEST_OK();
    good32();
    set(VMCS_GUEST_PDPTE1, 0x7007);
    set(VMCS_GUEST_CR4, CR4_HOST & ~(1ull << 5));
    GUEST_OK();
    good64();
    set(VMCS_GUEST_PDPTE1, 0x7007);
    GUEST_OK();
    good_real();
    set(VMCS_GUEST_CR4, 0x2020);
    set(VMCS_GUEST_PDPTE1, 0x7007);
    GUEST_OK();
}

static void pdpte_helper(void **state)
{
    (void)state;
    compute(&tigerlake);
    assert_true(vmentry_pdpte_valid(&caps, 0));
    assert_true(vmentry_pdpte_valid(&caps, ~1ull));
    assert_true(vmentry_pdpte_valid(&caps, 0xfffffff000ull | 0xe19));  /* ignored 11:9, PWT, PCD */
    assert_false(vmentry_pdpte_valid(&caps, 0x1003));
    assert_false(vmentry_pdpte_valid(&caps, 0x1005));
    assert_false(vmentry_pdpte_valid(&caps, 0x1021));
    assert_false(vmentry_pdpte_valid(&caps, 0x1101));
    assert_false(vmentry_pdpte_valid(&caps, BEYOND_WIDTH | 1));
    assert_false(vmentry_pdpte_valid(&caps, BIT(63) | 1));             /* XD is reserved in PAE PDPTEs */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_states_pass),
        cmocka_unit_test(why_untouched_on_success),
        cmocka_unit_test(pin_controls_against_caps),
        cmocka_unit_test(proc_controls_against_true_caps),
        cmocka_unit_test(secondary_controls_only_with_activate),
        cmocka_unit_test(cr3_target_count),
        cmocka_unit_test(io_bitmap_addresses),
        cmocka_unit_test(msr_bitmap_address),
        cmocka_unit_test(nmi_controls),
        cmocka_unit_test(vpid_not_zero),
        cmocka_unit_test(eptp_checked_with_ept),
        cmocka_unit_test(pml_needs_ept_and_a_page),
        cmocka_unit_test(unrestricted_guest_needs_ept),
        cmocka_unit_test(vm_function_controls),
        cmocka_unit_test(vmcs_shadowing_bitmaps),
        cmocka_unit_test(exit_controls_against_caps),
        cmocka_unit_test(save_preemption_timer_needs_timer),
        cmocka_unit_test(exit_msr_areas),
        cmocka_unit_test(entry_controls_against_caps),
        cmocka_unit_test(entry_msr_load_area),
        cmocka_unit_test(injection_type_and_vector),
        cmocka_unit_test(injection_other_event_needs_mtf),
        cmocka_unit_test(injection_deliver_error_code),
        cmocka_unit_test(injection_error_code_in_real_mode),
        cmocka_unit_test(injection_any_error_code_with_basic56),
        cmocka_unit_test(injection_reserved_bits_and_error_code),
        cmocka_unit_test(injection_instruction_length),
        cmocka_unit_test(host_cr0_cr4_fixed_bits),
        cmocka_unit_test(host_cr3_and_sysenter),
        cmocka_unit_test(host_pat_and_efer),
        cmocka_unit_test(host_selectors),
        cmocka_unit_test(host_bases_canonical),
        cmocka_unit_test(host_address_space_size),
        cmocka_unit_test(host_lma_rules),
        cmocka_unit_test(guest_cr0_fixed_bits),
        cmocka_unit_test(guest_cr4_fixed_bits),
        cmocka_unit_test(guest_ia32e_mode_and_paging),
        cmocka_unit_test(guest_debugctl_and_dr7),
        cmocka_unit_test(guest_cr3_and_sysenter),
        cmocka_unit_test(guest_pat_and_efer),
        cmocka_unit_test(guest_selectors),
        cmocka_unit_test(guest_bases),
        cmocka_unit_test(guest_cs_access_rights),
        cmocka_unit_test(guest_cs_dpl),
        cmocka_unit_test(guest_ss_access_rights),
        cmocka_unit_test(guest_data_segment_access_rights),
        cmocka_unit_test(guest_tr_and_ldtr_access_rights),
        cmocka_unit_test(guest_virtual_8086),
        cmocka_unit_test(guest_descriptor_tables),
        cmocka_unit_test(guest_rip),
        cmocka_unit_test(guest_rflags),
        cmocka_unit_test(guest_activity_state),
        cmocka_unit_test(guest_activity_blocks_injection),
        cmocka_unit_test(guest_other_activity_states),
        cmocka_unit_test(guest_interruptibility),
        cmocka_unit_test(guest_interruptibility_with_injection),
        cmocka_unit_test(guest_pending_debug_exceptions),
        cmocka_unit_test(guest_pending_debug_bs),
        cmocka_unit_test(guest_vmcs_link_pointer),
        cmocka_unit_test(guest_pdptes_with_ept),
        cmocka_unit_test(pdpte_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* hv/vmcs_check.c: naming the guest-state check a failed VM entry tripped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmcs_check.h"
#include "vmcs_fields.h"

#define CR0_PE BIT(0)
#define CR0_NE BIT(5)
#define CR0_PG BIT(31)
#define CR4_PAE BIT(5)
#define CR4_VMXE BIT(13)
#define CR4_PCIDE BIT(17)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define AR_UNUSABLE BIT(16)

static struct guest_state g;
static char msg[256];

static struct seg_state seg(uint16_t sel, uint32_t limit, uint32_t ar)
{
    return (struct seg_state){ .sel = sel, .base = 0, .limit = limit, .ar = ar };
}

/* What Nestor gives an ELF64 guest: 64-bit code, flat data, busy TSS. */
static int valid_64(void **state)
{
    (void)state;
    memset(&g, 0, sizeof(g));
    g.cr0 = 0x80050033;                 /* PE MP ET NE WP PG */
    g.cr4 = CR4_PAE | CR4_VMXE;
    g.efer = EFER_LME | EFER_LMA;
    g.rflags = 2;
    g.rip = 0x100000;
    g.link_ptr = ~0ull;
    g.entry_ctls = ENTRY_IA32E_MODE_GUEST;
    g.cr0_fixed0 = CR0_PE | CR0_NE | CR0_PG;
    g.cr0_fixed1 = 0xffffffff;
    g.cr4_fixed0 = CR4_VMXE;
    g.cr4_fixed1 = 0x003727ff;
    g.seg[GS_CS] = seg(0x08, 0xffffffff, 0xa09b);   /* G L P S code/read/accessed */
    for (unsigned i = GS_ES; i <= GS_GS; i++)
        if (i != GS_CS)
            g.seg[i] = seg(0x10, 0xffffffff, 0xc093);
    g.seg[GS_LDTR] = seg(0, 0, AR_UNUSABLE);
    g.seg[GS_TR] = seg(0x18, 0x67, 0x8b);           /* P, 64-bit busy TSS */
    memset(msg, 0, sizeof(msg));
    return 0;
}

/* A multiboot guest: 32-bit protected mode, paging off (unrestricted guest). */
static void make_32(void)
{
    g.cr0 = CR0_PE | CR0_NE | BIT(4);
    g.cr4 = CR4_VMXE;
    g.efer = 0;
    g.entry_ctls = 0;
    g.proc2 = PROC2_UNRESTRICTED_GUEST;
    g.seg[GS_CS] = seg(0x18, 0xffffffff, 0xc09b);
}

static void expect_pass(void)
{
    if (guest_state_check(&g, msg, sizeof(msg)))
        fail_msg("unexpected failure: %s", msg);
    assert_string_equal(msg, "no failing check found by the hv");
}

static void expect_named(const char *needle)
{
    assert_true(guest_state_check(&g, msg, sizeof(msg)));
    if (!strstr(msg, needle))
        fail_msg("'%s' does not mention '%s'", msg, needle);
}

/* ---- valid states ---------------------------------------------------------- */

static void valid_64bit_state_passes(void **state)
{
    (void)state;
    expect_pass();
}

static void valid_32bit_unpaged_state_passes(void **state)
{
    (void)state;
    make_32();
    expect_pass();
}

static void valid_real_mode_state_passes_with_unrestricted_guest(void **state)
{
    (void)state;
    make_32();
    g.cr0 = CR0_NE | BIT(4);
    g.seg[GS_CS] = seg(0xf000, 0xffff, 0x9b);
    for (unsigned i = GS_ES; i <= GS_GS; i++)
        if (i != GS_CS)
            g.seg[i] = seg(0, 0xffff, 0x93);
    g.seg[GS_TR] = seg(0, 0xffff, 0x83);            /* 16-bit busy TSS */
    expect_pass();
}

/* ---- control registers and EFER --------------------------------------------- */

static void cr0_missing_fixed0_bit_is_named(void **state)
{
    (void)state;
    g.cr0 &= ~CR0_NE;
    expect_named("guest CR0 0x80050013 violates the VMX fixed bits");
}

static void cr0_bit_outside_fixed1_is_named(void **state)
{
    (void)state;
    g.cr0_fixed1 = 0xdfffffff;          /* CD must be 0 */
    g.cr0 |= BIT(29) | BIT(30);
    expect_named("violates the VMX fixed bits");
    valid_64(state);
    g.cr0 |= 1ull << 32;
    expect_named("violates the VMX fixed bits");
}

static void unrestricted_guest_frees_only_pe_and_pg(void **state)
{
    (void)state;
    make_32();
    g.cr0 = CR0_NE;                     /* no PE, no PG */
    expect_pass();
    g.proc2 = 0;
    expect_named("guest CR0 0x20 violates the VMX fixed bits");
    g.proc2 = PROC2_UNRESTRICTED_GUEST;
    g.cr0 = 0;
    expect_named("guest CR0 0 violates the VMX fixed bits");   /* NE still fixed */
}

static void paging_without_protection_is_named(void **state)
{
    (void)state;
    make_32();
    g.cr0 = CR0_PG | CR0_NE;
    expect_named("CR0.PG=1 with CR0.PE=0");
}

static void cr4_fixed_bits_are_named(void **state)
{
    (void)state;
    g.cr4 &= ~CR4_VMXE;
    expect_named("guest CR4 0x20 violates the VMX fixed bits");
    valid_64(state);
    g.cr4 |= BIT(12);                   /* LA57, not in fixed1 */
    expect_named("guest CR4 0x3020 violates the VMX fixed bits");
}

static void ia32e_guest_needs_paging_and_pae(void **state)
{
    (void)state;
    g.cr4 &= ~CR4_PAE;
    expect_named("IA-32e mode guest needs CR0.PG=1 and CR4.PAE=1");
    valid_64(state);
    g.proc2 = PROC2_UNRESTRICTED_GUEST;
    g.cr0 &= ~CR0_PG;
    expect_named("IA-32e mode guest needs CR0.PG=1 and CR4.PAE=1");
}

static void pcide_outside_ia32e_is_named(void **state)
{
    (void)state;
    make_32();
    g.cr4 |= CR4_PCIDE;
    expect_named("CR4.PCIDE=1 outside IA-32e mode");
    valid_64(state);
    g.cr4 |= CR4_PCIDE;
    expect_pass();
}

static void lma_mismatch_with_entry_control_is_named(void **state)
{
    (void)state;
    g.efer = EFER_LME;
    expect_named("EFER.LMA (0) differs from the IA-32e mode guest control (1)");
    make_32();
    g.efer = EFER_LMA | EFER_LME;
    expect_named("EFER.LMA (1) differs from the IA-32e mode guest control (0)");
}

static void lma_without_lme_with_paging_is_named(void **state)
{
    (void)state;
    g.efer = EFER_LMA;
    expect_named("EFER.LMA differs from EFER.LME with paging on");
}

/* ---- segments -------------------------------------------------------------------- */

static void unusable_cs_is_named(void **state)
{
    (void)state;
    g.seg[GS_CS].ar |= AR_UNUSABLE;
    expect_named("guest CS is unusable");
}

static void cs_that_is_not_present_code_is_named(void **state)
{
    (void)state;
    g.seg[GS_CS].ar = 0xa093;           /* data */
    expect_named("guest CS access rights 0xa093");
    g.seg[GS_CS].ar = 0xa01b;           /* not present */
    expect_named("guest CS access rights 0xa01b");
    g.seg[GS_CS].ar = 0xa08b;           /* system segment */
    expect_named("guest CS access rights 0xa08b");
}

static void cs_code_segment_must_be_accessed(void **state)
{
    (void)state;
    g.seg[GS_CS].ar = 0xa09a;           /* execute/read, not accessed */
    expect_named("guest CS access rights 0xa09a");
}

static void cs_may_be_data_with_unrestricted_guest(void **state)
{
    (void)state;
    make_32();
    g.seg[GS_CS].ar = 0xc093;
    expect_pass();
    g.proc2 = 0;
    g.cr0 |= CR0_PG | BIT(16);
    g.cr0_fixed0 = CR0_PE | CR0_NE | CR0_PG;
    expect_named("guest CS access rights 0xc093");
}

static void cs_with_both_l_and_db_is_named(void **state)
{
    (void)state;
    g.seg[GS_CS].ar = 0xe09b;
    expect_named("guest CS has both L and D/B set");
}

static void ss_rpl_must_match_cs_rpl(void **state)
{
    (void)state;
    g.seg[GS_SS].sel = 0x13;
    expect_named("guest SS.RPL differs from CS.RPL");
    g.proc2 = PROC2_UNRESTRICTED_GUEST;
    expect_pass();
}

static void ss_must_be_writable_data(void **state)
{
    (void)state;
    g.seg[GS_SS].ar = 0xc09b;
    expect_named("guest SS type 11 is not a writable data segment");
    g.seg[GS_SS].ar = 0xc091;           /* read-only data */
    expect_named("guest SS type 1 is not a writable data segment");
    g.seg[GS_SS].ar = 0xc097;           /* expand-down: fine */
    expect_pass();
    g.seg[GS_SS].ar = AR_UNUSABLE | 0x9b;
    expect_pass();
}

static void data_segment_not_present_is_named(void **state)
{
    (void)state;
    g.seg[GS_DS].ar = 0xc013;
    expect_named("guest DS access rights 0xc013: not present or not a code/data segment");
    valid_64(state);
    g.seg[GS_GS].ar = 0xc083;           /* S=0 */
    expect_named("guest GS access rights 0xc083");
}

static void segment_reserved_access_rights_bits_are_named(void **state)
{
    (void)state;
    g.seg[GS_ES].ar |= BIT(8);
    expect_named("guest ES access rights 0xc193: reserved bits set");
    valid_64(state);
    g.seg[GS_FS].ar |= BIT(20);
    expect_named("guest FS access rights 0x10c093: reserved bits set");
}

static void segment_limit_inconsistent_with_granularity_is_named(void **state)
{
    (void)state;
    g.seg[GS_FS].limit = 0x1000;        /* G=1 needs limit[11:0] all ones */
    expect_named("guest FS limit 0x1000 inconsistent with G");
    valid_64(state);
    g.seg[GS_DS].ar = 0x4093;           /* G=0 ... */
    g.seg[GS_DS].limit = 0x100000;      /* ... needs limit[31:20] zero */
    expect_named("guest DS limit 0x100000 inconsistent with G");
    g.seg[GS_DS].limit = 0xfffff;
    expect_pass();
}

static void unusable_data_segments_are_not_checked(void **state)
{
    (void)state;
    g.seg[GS_DS] = seg(0, 0x1234, AR_UNUSABLE | 0xffff);
    g.seg[GS_FS] = seg(0, 0, AR_UNUSABLE);
    expect_pass();
}

static void tr_must_be_usable(void **state)
{
    (void)state;
    g.seg[GS_TR].ar |= AR_UNUSABLE;
    expect_named("guest TR is unusable");
}

static void tr_selector_must_not_use_ldt(void **state)
{
    (void)state;
    g.seg[GS_TR].sel = 0x1c;
    expect_named("guest TR selector has TI set");
}

static void tr_type_must_be_busy_tss(void **state)
{
    (void)state;
    g.seg[GS_TR].ar = 0x83;             /* 16-bit busy: not in IA-32e mode */
    expect_named("guest TR type 3 is not a busy TSS");
    g.seg[GS_TR].ar = 0x89;             /* available, not busy */
    expect_named("guest TR type 9 is not a busy TSS");
    make_32();
    g.seg[GS_TR].ar = 0x83;
    expect_pass();
    g.seg[GS_TR].ar = 0x81;
    expect_named("guest TR type 1 is not a busy TSS");
}

static void tr_must_be_present_system_segment(void **state)
{
    (void)state;
    g.seg[GS_TR].ar = 0x9b;             /* S=1 */
    expect_named("guest TR access rights 0x9b: must be a present system segment");
    g.seg[GS_TR].ar = 0x0b;             /* not present */
    expect_named("guest TR access rights 0xb");
}

static void usable_ldtr_must_be_present_ldt(void **state)
{
    (void)state;
    g.seg[GS_LDTR] = seg(0x20, 0xfff, 0x82);
    expect_pass();
    g.seg[GS_LDTR].ar = 0x8b;
    expect_named("guest LDTR access rights 0x8b: not a present LDT");
    g.seg[GS_LDTR].ar = 0x02;
    expect_named("not a present LDT");
}

static void virtual_8086_mode_skips_segment_checks(void **state)
{
    (void)state;
    make_32();
    g.rflags |= BIT(17);
    g.seg[GS_CS].ar = AR_UNUSABLE;
    g.seg[GS_TR].ar = AR_UNUSABLE;
    expect_pass();
}

/* ---- RFLAGS, RIP, activity, interruptibility, link pointer ------------------ */

static void rflags_reserved_bits_are_named(void **state)
{
    (void)state;
    static const uint64_t bad[] = { 0, 0x2 | BIT(3), 0x2 | BIT(5), 0x2 | BIT(15), 0x2 | BIT(22),
                                    0x2 | BIT(31), 0x2 | BIT(32), 0x2 | BIT(63) };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g.rflags = bad[i];
        expect_named("reserved bits wrong");
    }
    g.rflags = 0x0;
    expect_named("guest RFLAGS 0: reserved bits wrong");
}

static void rflags_defined_bits_are_accepted(void **state)
{
    (void)state;
    /* CF PF AF ZF SF TF IF DF OF IOPL NT RF AC VIF VIP ID (not VM) */
    g.rflags = 0x2 | (0x3f7fd5 & ~BIT(17));
    expect_pass();
}

static void rip_above_4g_outside_64bit_code_is_named(void **state)
{
    (void)state;
    g.rip = 0xffffffff80000000ull;
    expect_pass();                      /* 64-bit code segment */
    g.seg[GS_CS].ar = 0xc09b;           /* compatibility mode */
    expect_named("guest RIP 0xffffffff80000000 above 4 GiB");
    make_32();                          /* no IA-32e mode at all */
    g.rip = 0x100000000ull;
    expect_named("guest RIP 0x100000000 above 4 GiB");
    g.rip = 0xffffffff;
    expect_pass();
}

static void activity_state_above_3_is_named(void **state)
{
    (void)state;
    for (uint32_t a = 0; a <= 3; a++) {
        g.activity = a;
        expect_pass();
    }
    g.activity = 4;
    expect_named("guest activity state 4 is invalid");
    g.activity = 0xffffffff;
    expect_named("is invalid");
}

static void blocking_by_sti_and_mov_ss_is_named(void **state)
{
    (void)state;
    g.interruptibility = 1;
    expect_pass();
    g.interruptibility = 2;
    expect_pass();
    g.interruptibility = 3;
    expect_named("blocks by both STI and MOV SS");
}

static void link_pointer_must_be_all_ones(void **state)
{
    (void)state;
    g.link_ptr = 0;
    expect_named("VMCS link pointer 0 is not ~0");
    g.link_ptr = 0x12345000;
    expect_named("VMCS link pointer 0x12345000 is not ~0");
    g.link_ptr = 0xffffffff;
    expect_named("VMCS link pointer 0xffffffff is not ~0");
}

static void first_failing_check_is_reported(void **state)
{
    (void)state;
    g.link_ptr = 0;
    g.rflags = 0;
    g.seg[GS_TR].ar |= AR_UNUSABLE;
    g.cr0 &= ~CR0_NE;
    expect_named("CR0");
    g.cr0 |= CR0_NE;
    expect_named("TR is unusable");
    g.seg[GS_TR].ar &= ~AR_UNUSABLE;
    expect_named("RFLAGS");
    g.rflags = 2;
    expect_named("link pointer");
}

static void message_is_truncated_to_the_buffer(void **state)
{
    (void)state;
    char small[12];
    memset(small, 'x', sizeof(small));
    g.seg[GS_CS].ar |= AR_UNUSABLE;
    assert_true(guest_state_check(&g, small, 8));
    assert_string_equal(small, "guest C");
    assert_int_equal(small[8], 'x');
}

#define T(fn) cmocka_unit_test_setup(fn, valid_64)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(valid_64bit_state_passes),
        T(valid_32bit_unpaged_state_passes),
        T(valid_real_mode_state_passes_with_unrestricted_guest),
        T(cr0_missing_fixed0_bit_is_named),
        T(cr0_bit_outside_fixed1_is_named),
        T(unrestricted_guest_frees_only_pe_and_pg),
        T(paging_without_protection_is_named),
        T(cr4_fixed_bits_are_named),
        T(ia32e_guest_needs_paging_and_pae),
        T(pcide_outside_ia32e_is_named),
        T(lma_mismatch_with_entry_control_is_named),
        T(lma_without_lme_with_paging_is_named),
        T(unusable_cs_is_named),
        T(cs_that_is_not_present_code_is_named),
        T(cs_code_segment_must_be_accessed),
        T(cs_may_be_data_with_unrestricted_guest),
        T(cs_with_both_l_and_db_is_named),
        T(ss_rpl_must_match_cs_rpl),
        T(ss_must_be_writable_data),
        T(data_segment_not_present_is_named),
        T(segment_reserved_access_rights_bits_are_named),
        T(segment_limit_inconsistent_with_granularity_is_named),
        T(unusable_data_segments_are_not_checked),
        T(tr_must_be_usable),
        T(tr_selector_must_not_use_ldt),
        T(tr_type_must_be_busy_tss),
        T(tr_must_be_present_system_segment),
        T(usable_ldtr_must_be_present_ldt),
        T(virtual_8086_mode_skips_segment_checks),
        T(rflags_reserved_bits_are_named),
        T(rflags_defined_bits_are_accepted),
        T(rip_above_4g_outside_64bit_code_is_named),
        T(activity_state_above_3_is_named),
        T(blocking_by_sti_and_mov_ss_is_named),
        T(link_pointer_must_be_all_ones),
        T(first_failing_check_is_reported),
        T(message_is_truncated_to_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

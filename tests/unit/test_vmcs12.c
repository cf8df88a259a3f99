/* nested/vmcs12.c: the vmcs12 field table, layout and VMREAD/VMWRITE. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmcs12.h"
#include "vmcs12_index.h"

/* Every field of SDM Vol. 3 Appendix B, with whether an L1 offered every
 * feature Nestor emulates has it (the fields of features it is never
 * offered do not exist for it). */
static const struct { uint32_t enc; bool present; const char *name; } sdm[] = {
    { 0x0000, true, "VPID" }, { 0x0002, false, "posted-interrupt notification vector" },
    { 0x0004, false, "EPTP index" }, { 0x0006, false, "HLAT prefix size" },
    { 0x0008, false, "last PID-pointer index" },
    { 0x0800, true, "guest ES" }, { 0x0802, true, "guest CS" }, { 0x0804, true, "guest SS" },
    { 0x0806, true, "guest DS" }, { 0x0808, true, "guest FS" }, { 0x080a, true, "guest GS" },
    { 0x080c, true, "guest LDTR" }, { 0x080e, true, "guest TR" },
    { 0x0810, false, "guest interrupt status" }, { 0x0812, true, "PML index" },
    { 0x0814, false, "guest UINV" },
    { 0x0c00, true, "host ES" }, { 0x0c02, true, "host CS" }, { 0x0c04, true, "host SS" },
    { 0x0c06, true, "host DS" }, { 0x0c08, true, "host FS" }, { 0x0c0a, true, "host GS" },
    { 0x0c0c, true, "host TR" },
    { 0x2000, true, "I/O bitmap A" }, { 0x2002, true, "I/O bitmap B" }, { 0x2004, true, "MSR bitmap" },
    { 0x2006, true, "exit MSR-store" }, { 0x2008, true, "exit MSR-load" },
    { 0x200a, true, "entry MSR-load" }, { 0x200c, true, "executive-VMCS pointer" },
    { 0x200e, true, "PML address" }, { 0x2010, true, "TSC offset" },
    { 0x2012, false, "virtual-APIC address" }, { 0x2014, false, "APIC-access address" },
    { 0x2016, false, "posted-interrupt descriptor" }, { 0x2018, true, "VM-function controls" },
    { 0x201a, true, "EPTP" }, { 0x201c, false, "EOI-exit bitmap 0" },
    { 0x201e, false, "EOI-exit bitmap 1" }, { 0x2020, false, "EOI-exit bitmap 2" },
    { 0x2022, false, "EOI-exit bitmap 3" }, { 0x2024, false, "EPTP-list address" },
    { 0x2026, true, "VMREAD bitmap" }, { 0x2028, true, "VMWRITE bitmap" },
    { 0x202a, false, "#VE information address" }, { 0x202c, false, "XSS-exiting bitmap" },
    { 0x202e, false, "ENCLS-exiting bitmap" }, { 0x2030, false, "SPPTP" },
    { 0x2032, false, "TSC multiplier" }, { 0x2034, false, "tertiary controls" },
    { 0x2036, false, "ENCLV-exiting bitmap" },
    { 0x2400, true, "guest-physical address" },
    { 0x2800, true, "VMCS link pointer" }, { 0x2802, true, "guest DEBUGCTL" },
    { 0x2804, true, "guest PAT" }, { 0x2806, true, "guest EFER" },
    { 0x2808, false, "guest PERF_GLOBAL_CTRL" }, { 0x280a, true, "PDPTE0" },
    { 0x280c, true, "PDPTE1" }, { 0x280e, true, "PDPTE2" }, { 0x2810, true, "PDPTE3" },
    { 0x2812, false, "guest BNDCFGS" }, { 0x2814, false, "guest RTIT_CTL" },
    { 0x2816, false, "guest LBR_CTL" }, { 0x2818, false, "guest PKRS" },
    { 0x2c00, true, "host PAT" }, { 0x2c02, true, "host EFER" },
    { 0x2c04, false, "host PERF_GLOBAL_CTRL" }, { 0x2c06, false, "host PKRS" },
    { 0x4000, true, "pin" }, { 0x4002, true, "proc" }, { 0x4004, true, "exception bitmap" },
    { 0x4006, true, "#PF mask" }, { 0x4008, true, "#PF match" }, { 0x400a, true, "CR3-target count" },
    { 0x400c, true, "exit controls" }, { 0x400e, true, "exit MSR-store count" },
    { 0x4010, true, "exit MSR-load count" }, { 0x4012, true, "entry controls" },
    { 0x4014, true, "entry MSR-load count" }, { 0x4016, true, "entry interruption info" },
    { 0x4018, true, "entry exception error code" }, { 0x401a, true, "entry instruction length" },
    { 0x401c, false, "TPR threshold" }, { 0x401e, true, "secondary controls" },
    { 0x4020, true, "PLE gap" }, { 0x4022, true, "PLE window" },
    { 0x4024, false, "instruction timeout" },
    { 0x4400, true, "VM-instruction error" }, { 0x4402, true, "exit reason" },
    { 0x4404, true, "exit interruption info" }, { 0x4406, true, "exit interruption error" },
    { 0x4408, true, "IDT-vectoring info" }, { 0x440a, true, "IDT-vectoring error" },
    { 0x440c, true, "exit instruction length" }, { 0x440e, true, "instruction info" },
    { 0x4800, true, "ES limit" }, { 0x4802, true, "CS limit" }, { 0x4804, true, "SS limit" },
    { 0x4806, true, "DS limit" }, { 0x4808, true, "FS limit" }, { 0x480a, true, "GS limit" },
    { 0x480c, true, "LDTR limit" }, { 0x480e, true, "TR limit" }, { 0x4810, true, "GDTR limit" },
    { 0x4812, true, "IDTR limit" }, { 0x4814, true, "ES AR" }, { 0x4816, true, "CS AR" },
    { 0x4818, true, "SS AR" }, { 0x481a, true, "DS AR" }, { 0x481c, true, "FS AR" },
    { 0x481e, true, "GS AR" }, { 0x4820, true, "LDTR AR" }, { 0x4822, true, "TR AR" },
    { 0x4824, true, "interruptibility" }, { 0x4826, true, "activity state" },
    { 0x4828, true, "SMBASE" }, { 0x482a, true, "guest SYSENTER_CS" },
    { 0x482e, true, "preemption timer value" },
    { 0x4c00, true, "host SYSENTER_CS" },
    { 0x6000, true, "CR0 mask" }, { 0x6002, true, "CR4 mask" }, { 0x6004, true, "CR0 shadow" },
    { 0x6006, true, "CR4 shadow" }, { 0x6008, true, "CR3 target 0" }, { 0x600a, true, "CR3 target 1" },
    { 0x600c, true, "CR3 target 2" }, { 0x600e, true, "CR3 target 3" },
    { 0x6400, true, "exit qualification" }, { 0x6402, true, "I/O RCX" }, { 0x6404, true, "I/O RSI" },
    { 0x6406, true, "I/O RDI" }, { 0x6408, true, "I/O RIP" }, { 0x640a, true, "guest-linear address" },
    { 0x6800, true, "guest CR0" }, { 0x6802, true, "guest CR3" }, { 0x6804, true, "guest CR4" },
    { 0x6806, true, "ES base" }, { 0x6808, true, "CS base" }, { 0x680a, true, "SS base" },
    { 0x680c, true, "DS base" }, { 0x680e, true, "FS base" }, { 0x6810, true, "GS base" },
    { 0x6812, true, "LDTR base" }, { 0x6814, true, "TR base" }, { 0x6816, true, "GDTR base" },
    { 0x6818, true, "IDTR base" }, { 0x681a, true, "DR7" }, { 0x681c, true, "RSP" },
    { 0x681e, true, "RIP" }, { 0x6820, true, "RFLAGS" }, { 0x6822, true, "pending debug" },
    { 0x6824, true, "guest SYSENTER_ESP" }, { 0x6826, true, "guest SYSENTER_EIP" },
    { 0x6828, false, "guest S_CET" }, { 0x682a, false, "guest SSP" },
    { 0x682c, false, "guest interrupt SSP table" },
    { 0x6c00, true, "host CR0" }, { 0x6c02, true, "host CR3" }, { 0x6c04, true, "host CR4" },
    { 0x6c06, true, "host FS base" }, { 0x6c08, true, "host GS base" }, { 0x6c0a, true, "host TR base" },
    { 0x6c0c, true, "host GDTR base" }, { 0x6c0e, true, "host IDTR base" },
    { 0x6c10, true, "host SYSENTER_ESP" }, { 0x6c12, true, "host SYSENTER_EIP" },
    { 0x6c14, true, "host RSP" }, { 0x6c16, true, "host RIP" },
    { 0x6c18, false, "host S_CET" }, { 0x6c1a, false, "host SSP" },
    { 0x6c1c, false, "host interrupt SSP table" },
};

static uint8_t vmcs[VMCS12_REGION_SIZE];

static void reset(void)
{
    memset(vmcs, 0, sizeof(vmcs));
}

/* The width and type the SDM's ranges give an encoding (Appendix B). */
static unsigned sdm_width(uint32_t e)
{
    if (e < 0x2000) return VMCS_W16;
    if (e < 0x4000) return VMCS_W64;
    if (e < 0x6000) return VMCS_W32;
    return VMCS_WNAT;
}

static unsigned sdm_type(uint32_t e)
{
    return (e & 0x0c00) >> 10;
}

static void index_header_matches_the_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++)
        assert_int_equal(vmcs12_index_of(vmcs12_fields[i].encoding), (int)i);
    assert_int_equal(vmcs12_index_of(0x0002), -1);
    uint8_t v[VMCS12_SIZE] = { 0 };
    vmcs12_set(v, 0x681e, 0x1234);      /* GUEST_RIP */
    assert_int_equal(V12(v, 0x681e), 0x1234);
}

static void table_is_sorted_unique_and_well_formed(void **state)
{
    (void)state;
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        assert_int_equal(e & 1, 0);                 /* full access */
        assert_int_equal(e & ~0x6fffu, 0);          /* no reserved bit */
        assert_non_null(vmcs12_fields[i].name);
        if (i)
            assert_true(vmcs12_fields[i - 1].encoding < e);
    }
}

static void every_sdm_field_has_its_width_and_type(void **state)
{
    (void)state;
    for (unsigned i = 0; i < sizeof(sdm) / sizeof(sdm[0]); i++) {
        uint32_t e = sdm[i].enc;
        assert_int_equal(vmcs_enc_width(e), sdm_width(e));
        assert_int_equal(vmcs_enc_type(e), sdm_type(e));
        assert_false(vmcs_enc_high(e));
    }
    /* A few by name (SDM Table B-1 ... B-14). */
    assert_int_equal(vmcs_enc_width(0x0000), VMCS_W16);
    assert_int_equal(vmcs_enc_type(0x0c00), VMCS_T_HOST);
    assert_int_equal(vmcs_enc_width(0x2400), VMCS_W64);
    assert_int_equal(vmcs_enc_type(0x2400), VMCS_T_EXIT_INFO);
    assert_int_equal(vmcs_enc_width(0x4402), VMCS_W32);
    assert_int_equal(vmcs_enc_type(0x4402), VMCS_T_EXIT_INFO);
    assert_int_equal(vmcs_enc_type(0x4826), VMCS_T_GUEST);
    assert_int_equal(vmcs_enc_width(0x681e), VMCS_WNAT);
    assert_int_equal(vmcs_enc_type(0x6c16), VMCS_T_HOST);
    assert_int_equal(vmcs_enc_index(0x482e), 0x17);
    assert_true(vmcs_enc_high(0x2001));
}

static void table_is_exactly_the_offered_sdm_fields(void **state)
{
    (void)state;
    unsigned present = 0;
    for (unsigned i = 0; i < sizeof(sdm) / sizeof(sdm[0]); i++) {
        const struct vmcs12_field *f = vmcs12_lookup(sdm[i].enc, VMCS12_F_ALL);
        if (sdm[i].present != (f != NULL))
            fail_msg("%s (%#x): %s", sdm[i].name, sdm[i].enc, f ? "present" : "absent");
        if (f) {
            assert_int_equal(f->encoding, sdm[i].enc);
            present++;
        }
    }
    assert_int_equal(present, VMCS12_NR_FIELDS);
}

static void layout_is_fixed(void **state)
{
    (void)state;
    assert_int_equal(VMCS12_REVISION, 0x3153454e);
    assert_int_equal(VMCS12_REVISION & VMCS12_SHADOW_INDICATOR, 0);
    assert_memory_equal((const char *)&(uint32_t){ VMCS12_REVISION }, "NES1", 4);
    assert_int_equal(VMCS12_SIZE, 16 + 8 * 136);
    assert_true(VMCS12_SIZE <= VMCS12_REGION_SIZE);
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++)
        assert_int_equal(vmcs12_offset(&vmcs12_fields[i]), 16 + 8 * i);
    /* Pinned offsets (docs/NESTED.md): a change here is a new revision. */
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x0000, VMCS12_F_ALL)), 0x10);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x2000, VMCS12_F_ALL)), 0x98);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x201a, VMCS12_F_ALL)), 0xe8);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x4000, VMCS12_F_ALL)), 0x158);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x4400, VMCS12_F_ALL)), 0x1e0);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x681e, VMCS12_F_ALL)), 0x3c8);
    assert_int_equal(vmcs12_offset(vmcs12_lookup(0x6c16, VMCS12_F_ALL)), 0x448);
}

static void each_width_stores_and_truncates(void **state)
{
    (void)state;
    uint64_t v;
    reset();
    assert_int_equal(vmcs12_write(vmcs, 0x0802, VMCS12_F_ALL, 0x123456789abcdef0ull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x0802, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0xdef0);
    assert_int_equal(vmcs12_write(vmcs, 0x4002, VMCS12_F_ALL, 0x123456789abcdef0ull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x4002, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0x9abcdef0);
    assert_int_equal(vmcs12_write(vmcs, 0x2010, VMCS12_F_ALL, 0x123456789abcdef0ull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x2010, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0x123456789abcdef0ull);
    assert_int_equal(vmcs12_write(vmcs, 0x681e, VMCS12_F_ALL, 0xffffffff81000000ull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x681e, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0xffffffff81000000ull);
    /* Stored where the layout says, zero-extended, little-endian. */
    uint64_t slot;
    memcpy(&slot, vmcs + vmcs12_offset(vmcs12_lookup(0x0802, VMCS12_F_ALL)), 8);
    assert_int_equal(slot, 0xdef0);
    memcpy(&slot, vmcs + vmcs12_offset(vmcs12_lookup(0x681e, VMCS12_F_ALL)), 8);
    assert_int_equal(slot, 0xffffffff81000000ull);
    /* Neighbours untouched. */
    assert_int_equal(vmcs12_get(vmcs, 0x0800), 0);
    assert_int_equal(vmcs12_get(vmcs, 0x0804), 0);
}

static void every_field_round_trips(void **state)
{
    (void)state;
    reset();
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        uint64_t val = 0x0102030405060708ull * (i + 1), got;
        assert_int_equal(vmcs12_write(vmcs, e, VMCS12_F_ALL, val, true), 0);
        assert_int_equal(vmcs12_read(vmcs, e, VMCS12_F_ALL, &got), 0);
        uint64_t want = vmcs_enc_width(e) == VMCS_W16 ? val & 0xffff :
                        vmcs_enc_width(e) == VMCS_W32 ? val & 0xffffffff : val;
        assert_int_equal(got, want);
        assert_int_equal(vmcs12_get(vmcs, e), want);
    }
    /* All still there: no two fields share a slot. */
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        uint64_t val = 0x0102030405060708ull * (i + 1), got;
        assert_int_equal(vmcs12_read(vmcs, e, VMCS12_F_ALL, &got), 0);
        assert_int_equal(got, vmcs_enc_width(e) == VMCS_W16 ? val & 0xffff :
                              vmcs_enc_width(e) == VMCS_W32 ? val & 0xffffffff : val);
    }
    /* The header is not a field. */
    assert_int_equal(vmcs12_header(vmcs, 0), 0);
    assert_int_equal(vmcs12_header(vmcs, 4), 0);
    assert_int_equal(vmcs12_header(vmcs, 8), 0);
}

static void high_access_reads_and_writes_bits_63_32(void **state)
{
    (void)state;
    uint64_t v;
    reset();
    assert_int_equal(vmcs12_write(vmcs, 0x201a, VMCS12_F_ALL, 0x1111222233334444ull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x201b, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0x11112222);
    /* Writing the high half keeps the low half; only operand bits 31:0 count. */
    assert_int_equal(vmcs12_write(vmcs, 0x201b, VMCS12_F_ALL, 0xdeadbeefcafef00dull, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x201a, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0xcafef00d33334444ull);
    /* A full write of a 32-bit value clears the high half. */
    assert_int_equal(vmcs12_write(vmcs, 0x201a, VMCS12_F_ALL, 0x55556666, false), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x201b, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0);
    /* Every 64-bit field has a high half. */
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        const struct vmcs12_field *f = vmcs12_lookup(e | 1, VMCS12_F_ALL);
        if (vmcs_enc_width(e) == VMCS_W64)
            assert_ptr_equal(f, &vmcs12_fields[i]);
        else
            assert_null(f);
    }
}

static void high_access_to_other_widths_is_unsupported(void **state)
{
    (void)state;
    uint64_t v;
    reset();
    static const uint32_t enc[] = { 0x0001, 0x0801, 0x4003, 0x4401, 0x6801, 0x681f, 0x6c17 };
    for (unsigned i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        assert_int_equal(vmcs12_read(vmcs, enc[i], VMCS12_F_ALL, &v), VMXERR_UNSUPPORTED_FIELD);
        assert_int_equal(vmcs12_write(vmcs, enc[i], VMCS12_F_ALL, 1, true), VMXERR_UNSUPPORTED_FIELD);
    }
    for (unsigned i = 0; i < VMCS12_SIZE; i++)
        assert_int_equal(vmcs[i], 0);
}

static void exit_information_fields_are_read_only_unless_allowed(void **state)
{
    (void)state;
    uint64_t v;
    reset();
    unsigned ro = 0;
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        uint32_t e = vmcs12_fields[i].encoding;
        int want = vmcs_enc_type(e) == VMCS_T_EXIT_INFO ? VMXERR_READ_ONLY_FIELD : 0;
        ro += want != 0;
        assert_int_equal(vmcs12_write(vmcs, e, VMCS12_F_ALL, 7, false), want);
        if (vmcs_enc_width(e) == VMCS_W64)
            assert_int_equal(vmcs12_write(vmcs, e | 1, VMCS12_F_ALL, 7, false), want);
        /* Readable either way. */
        assert_int_equal(vmcs12_read(vmcs, e, VMCS12_F_ALL, &v), 0);
        assert_int_equal(v, want ? 0 : vmcs_enc_width(e) == VMCS_W64 ? 0x700000007ull : 7);
    }
    assert_int_equal(ro, 1 + 8 + 6);   /* guest-physical address, 8 32-bit, 6 natural */
    /* IA32_VMX_MISC[29]: VMWRITE may write them. */
    assert_int_equal(vmcs12_write(vmcs, 0x4400, VMCS12_F_ALL, 12, true), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x4400, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(vmcs12_write(vmcs, 0x2401, VMCS12_F_ALL, 0xabc, true), 0);
    assert_int_equal(vmcs12_read(vmcs, 0x2400, VMCS12_F_ALL, &v), 0);
    assert_int_equal(v, 0xabc00000000ull);
}

static void unsupported_encodings_fail_with_12(void **state)
{
    (void)state;
    uint64_t v;
    reset();
    static const uint64_t enc[] = {
        0x0002, 0x0004, 0x0810, 0x2012, 0x2016, 0x2024, 0x202a, 0x2030, 0x2032, 0x2808,
        0x2c04, 0x401c, 0x6828, 0x6c18, 0x482c, 0x4c02, 0x0c0e, 0x6c1e,
        0x1000,                     /* bit 12 reserved */
        0x1000 | 0x681e,            /* a real field with bit 12 set */
        0x8000 | 0x681e,            /* bit 15 */
        0x10000 | 0x0000,           /* bit 16 */
        0x80000000ull | 0x4002,     /* bit 31 */
        0x100000000ull | 0x4002,    /* bit 32: a 64-bit register operand */
        0xffffffffffffffffull, 0xffffffffull, 0x7fff, 0x6fff,
    };
    for (unsigned i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
        assert_null(vmcs12_lookup(enc[i], VMCS12_F_ALL));
        assert_int_equal(vmcs12_read(vmcs, enc[i], VMCS12_F_ALL, &v), VMXERR_UNSUPPORTED_FIELD);
        assert_int_equal(vmcs12_write(vmcs, enc[i], VMCS12_F_ALL, 1, true), VMXERR_UNSUPPORTED_FIELD);
    }
    for (unsigned i = 0; i < VMCS12_SIZE; i++)
        assert_int_equal(vmcs[i], 0);
    /* Unsupported wins over read-only. */
    assert_int_equal(vmcs12_write(vmcs, 0x4410, VMCS12_F_ALL, 1, false), VMXERR_UNSUPPORTED_FIELD);
}

static void fields_of_features_not_offered_do_not_exist(void **state)
{
    (void)state;
    static const struct { uint32_t enc; unsigned feature; } gated[] = {
        { 0x0000, VMCS12_F_VPID }, { 0x0812, VMCS12_F_PML }, { 0x200e, VMCS12_F_PML },
        { 0x2018, VMCS12_F_VMFUNC }, { 0x201a, VMCS12_F_EPT }, { 0x2400, VMCS12_F_EPT },
        { 0x280a, VMCS12_F_EPT }, { 0x280c, VMCS12_F_EPT }, { 0x280e, VMCS12_F_EPT },
        { 0x2810, VMCS12_F_EPT }, { 0x2026, VMCS12_F_SHADOW },
        { 0x2028, VMCS12_F_SHADOW }, { 0x4020, VMCS12_F_PLE }, { 0x4022, VMCS12_F_PLE },
        { 0x482e, VMCS12_F_PREEMPT },
    };
    uint64_t v;
    reset();
    for (unsigned i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
        unsigned without = VMCS12_F_ALL & ~gated[i].feature;
        assert_non_null(vmcs12_lookup(gated[i].enc, VMCS12_F_ALL));
        assert_non_null(vmcs12_lookup(gated[i].enc, gated[i].feature));
        assert_null(vmcs12_lookup(gated[i].enc, without));
        assert_int_equal(vmcs12_read(vmcs, gated[i].enc, without, &v), VMXERR_UNSUPPORTED_FIELD);
        assert_int_equal(vmcs12_write(vmcs, gated[i].enc, without, 1, true), VMXERR_UNSUPPORTED_FIELD);
    }
    /* Every gated field is in that list; the rest exist with no feature. */
    unsigned n = 0;
    for (unsigned i = 0; i < VMCS12_NR_FIELDS; i++) {
        if (!vmcs12_fields[i].feature) {
            assert_non_null(vmcs12_lookup(vmcs12_fields[i].encoding, 0));
            continue;
        }
        n++;
    }
    assert_int_equal(n, sizeof(gated) / sizeof(gated[0]));
}

static void max_index_follows_the_features(void **state)
{
    (void)state;
    assert_int_equal(vmcs12_max_index(VMCS12_F_ALL), 0x17);    /* 0x482e */
    assert_int_equal(vmcs12_max_index(VMCS12_F_ALL & ~VMCS12_F_PREEMPT), 0x15);  /* 0x482a */
    assert_int_equal(vmcs12_max_index(0), 0x15);
}

static void direct_accessors_and_header(void **state)
{
    (void)state;
    reset();
    vmcs12_set(vmcs, 0x4400, 0x1234567890ull);
    assert_int_equal(vmcs12_get(vmcs, 0x4400), 0x34567890);
    vmcs12_set(vmcs, 0x1234, 5);                 /* unknown: ignored */
    assert_int_equal(vmcs12_get(vmcs, 0x1234), 0);
    vmcs12_set_header(vmcs, VMCS12_OFF_REVISION, VMCS12_REVISION | VMCS12_SHADOW_INDICATOR);
    vmcs12_set_header(vmcs, VMCS12_OFF_LAUNCH, VMCS12_LAUNCH_LAUNCHED);
    assert_int_equal(vmcs12_header(vmcs, VMCS12_OFF_REVISION), 0xb153454e);
    assert_int_equal(vmcs12_header(vmcs, VMCS12_OFF_LAUNCH), 1);
    assert_int_equal(vmcs12_header(vmcs, VMCS12_OFF_ABORT), 0);
    assert_int_equal(vmcs[8], 1);
    assert_int_equal(vmcs[3], 0xb1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_sorted_unique_and_well_formed),
        cmocka_unit_test(index_header_matches_the_table),
        cmocka_unit_test(every_sdm_field_has_its_width_and_type),
        cmocka_unit_test(table_is_exactly_the_offered_sdm_fields),
        cmocka_unit_test(layout_is_fixed),
        cmocka_unit_test(each_width_stores_and_truncates),
        cmocka_unit_test(every_field_round_trips),
        cmocka_unit_test(high_access_reads_and_writes_bits_63_32),
        cmocka_unit_test(high_access_to_other_widths_is_unsupported),
        cmocka_unit_test(exit_information_fields_are_read_only_unless_allowed),
        cmocka_unit_test(unsupported_encodings_fail_with_12),
        cmocka_unit_test(fields_of_features_not_offered_do_not_exist),
        cmocka_unit_test(max_index_follows_the_features),
        cmocka_unit_test(direct_accessors_and_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* nested/nested_caps.c: the VMX capability MSRs an L1 hypervisor sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nested_caps.h"
#include "vmcs12.h"

#include "tigerlake_caps.h"

static struct nested_caps caps;

static uint64_t msr(uint32_t m)
{
    uint64_t v = 0xdead;
    if (!nested_caps_rdmsr(&caps, m, &v))
        fail_msg("MSR %#x absent", m);
    return v;
}

static void compute(const struct nested_phys *p)
{
    memset(&caps, 0xcc, sizeof(caps));
    nested_caps_compute(p, &caps);
}

static void basic_names_nestors_vmcs12(void **state)
{
    (void)state;
    compute(&tigerlake);
    uint64_t b = msr(MSR_VMX_BASIC);
    assert_int_equal(b & 0x7fffffff, VMCS12_REVISION);
    assert_int_equal(b & BIT(31), 0);
    assert_int_equal((b >> 32) & 0x1fff, 4096);
    assert_int_equal(b & BIT(48), 0);           /* 64-bit physical addresses */
    assert_int_equal(b & BIT(49), 0);           /* no dual-monitor SMM */
    assert_int_equal((b >> 50) & 0xf, 6);       /* write-back */
    assert_true(b & BIT(54));                   /* INS/OUTS information, as the CPU */
    assert_true(b & BIT(55));                   /* true controls */
    assert_int_equal(b & BIT(56), 0);           /* error-code consistency is checked */
    assert_int_equal(b, 0x00d810003153454eull);
    struct nested_phys p = tigerlake;
    p.basic &= ~BIT(54);
    compute(&p);
    assert_int_equal(msr(MSR_VMX_BASIC) & BIT(54), 0);
}

static void controls_are_self_consistent(void **state)
{
    (void)state;
    compute(&tigerlake);
    static const uint32_t pairs[][2] = {
        { MSR_VMX_PINBASED, MSR_VMX_TRUE_PINBASED }, { MSR_VMX_PROCBASED, MSR_VMX_TRUE_PROCBASED },
        { MSR_VMX_EXIT, MSR_VMX_TRUE_EXIT }, { MSR_VMX_ENTRY, MSR_VMX_TRUE_ENTRY },
    };
    for (unsigned i = 0; i < 4; i++) {
        uint64_t c = msr(pairs[i][0]), t = msr(pairs[i][1]);
        assert_int_equal((uint32_t)c & ~(uint32_t)(c >> 32), 0);   /* allowed-0 within allowed-1 */
        assert_int_equal((uint32_t)t & ~(uint32_t)(t >> 32), 0);
        assert_int_equal((uint32_t)t & ~(uint32_t)c, 0);           /* true allowed-0 within non-true */
        assert_int_equal(t >> 32, c >> 32);                         /* same allowed-1 */
    }
    uint64_t p2 = msr(MSR_VMX_PROCBASED2);
    assert_int_equal((uint32_t)p2, 0);
    /* Default1 bits stay 1 in the non-true MSRs (SDM A.2). */
    assert_int_equal((uint32_t)msr(MSR_VMX_PINBASED) & 0x16, 0x16);
    assert_int_equal((uint32_t)msr(MSR_VMX_PROCBASED) & 0x0401e172, 0x0401e172);
    assert_int_equal((uint32_t)msr(MSR_VMX_EXIT) & 0x00036dff, 0x00036dff);
    assert_int_equal((uint32_t)msr(MSR_VMX_ENTRY) & 0x000011ff, 0x000011ff);
    /* The true ones let L1 clear what the CPU lets it clear. */
    /* ...except RDPMC exiting (bit 11), which L1 must set: no PMU to reach. */
    assert_int_equal((uint32_t)msr(MSR_VMX_TRUE_PROCBASED), 0x04006172 | 0x800);
    assert_int_equal((uint32_t)msr(MSR_VMX_PROCBASED) & 0x800, 0x800);
    assert_int_equal((uint32_t)msr(MSR_VMX_TRUE_EXIT), 0x00036dfb);
}

static void only_emulated_controls_are_offered(void **state)
{
    (void)state;
    compute(&tigerlake);
    uint32_t pin = msr(MSR_VMX_PINBASED) >> 32, proc = msr(MSR_VMX_PROCBASED) >> 32;
    uint32_t proc2 = msr(MSR_VMX_PROCBASED2) >> 32, ex = msr(MSR_VMX_EXIT) >> 32;
    uint32_t en = msr(MSR_VMX_ENTRY) >> 32;
    assert_int_equal(pin, 0x16 | 0x69);                         /* no posted interrupts */
    assert_int_equal(pin & BIT(7), 0);
    assert_int_equal(proc & (BIT(17) | BIT(21)), 0);            /* tertiary, TPR shadow */
    assert_true(proc & (BIT(25) | BIT(28) | BIT(31) | BIT(27)));
    assert_int_equal(proc2, 0x00037cee);
    static const unsigned absent2[] = { 0, 4, 8, 9, 15, 18, 19, 20, 22, 23, 24, 25, 26 };
    for (unsigned i = 0; i < sizeof(absent2) / sizeof(absent2[0]); i++)
        assert_int_equal(proc2 & BIT(absent2[i]), 0);
    static const unsigned kept2[] = { 1, 2, 3, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17 };
    for (unsigned i = 0; i < sizeof(kept2) / sizeof(kept2[0]); i++)
        assert_true(proc2 & BIT(kept2[i]));
    assert_int_equal(ex & (BIT(12) | BIT(23) | BIT(24) | BIT(25) | BIT(28) | BIT(29)), 0);
    assert_int_equal(ex, 0x00036dff | NESTED_EXIT_OK);
    assert_int_equal(en & (BIT(10) | BIT(11) | BIT(13) | BIT(16) | BIT(17) | BIT(18) | BIT(20)), 0);
    assert_int_equal(en, 0x000011ff | NESTED_ENTRY_OK);
}

static void nothing_the_cpu_lacks_is_offered(void **state)
{
    (void)state;
    struct nested_phys p = tigerlake;
    p.proc2 &= ~((uint64_t)(BIT(17) | BIT(14) | BIT(13)) << 32);   /* no PML, shadowing, VMFUNC */
    p.pin &= ~(BIT(6) << 32);
    p.ept_vpid &= ~(BIT(17) | BIT(21) | BIT(40));
    compute(&p);
    uint32_t proc2 = msr(MSR_VMX_PROCBASED2) >> 32;
    assert_int_equal(proc2 & (BIT(17) | BIT(14) | BIT(13)), 0);
    assert_int_equal((msr(MSR_VMX_PINBASED) >> 32) & BIT(6), 0);
    uint64_t ev = msr(MSR_VMX_EPT_VPID_CAP);
    assert_int_equal(ev & (BIT(17) | BIT(21) | BIT(40)), 0);
    uint64_t v;
    assert_false(nested_caps_rdmsr(&caps, MSR_VMX_VMFUNC, &v));
    /* Their vmcs12 fields do not exist. */
    assert_int_equal(caps.fields & (VMCS12_F_PML | VMCS12_F_SHADOW | VMCS12_F_VMFUNC | VMCS12_F_PREEMPT), 0);
    assert_int_equal(caps.fields & (VMCS12_F_EPT | VMCS12_F_VPID | VMCS12_F_PLE),
                     VMCS12_F_EPT | VMCS12_F_VPID | VMCS12_F_PLE);
    assert_int_equal(msr(MSR_VMX_VMCS_ENUM), 0x15 << 1);
    assert_false(nested_invvpid_type_ok(&caps, 0));
    assert_true(nested_invvpid_type_ok(&caps, 1));
}

static void ept_vpid_capabilities(void **state)
{
    (void)state;
    compute(&tigerlake);
    uint64_t ev = msr(MSR_VMX_EPT_VPID_CAP);
    assert_int_equal(ev, 0x00000f0106334141ull);
    assert_int_equal(ev & BIT(22), 0);          /* no advanced EPT-violation information */
    assert_int_equal(ev & BIT(23), 0);          /* no supervisor shadow-stack control */
    assert_int_equal(ev & BIT(7), 0);           /* no 5-level EPT */
    /* Without EPT in the secondary controls: no EPT capabilities. */
    struct nested_phys p = tigerlake;
    p.proc2 &= ~(BIT(1) << 32);
    compute(&p);
    assert_int_equal((uint32_t)msr(MSR_VMX_EPT_VPID_CAP), 0);
    assert_int_equal(msr(MSR_VMX_EPT_VPID_CAP) >> 32, 0xf01);
    assert_int_equal(caps.fields & VMCS12_F_EPT, 0);
}

static void misc_and_fixed_bits(void **state)
{
    (void)state;
    compute(&tigerlake);
    uint64_t m = msr(MSR_VMX_MISC);
    assert_true(m & BIT(29));                   /* VMWRITE to any field */
    assert_true(caps.vmwrite_any);
    assert_int_equal(m & 0x1f, 7);              /* the CPU's timer rate */
    assert_int_equal(m & (BIT(7) | BIT(8) | BIT(14) | BIT(15) | BIT(28)), 0);
    assert_true(m & BIT(6));                    /* HLT activity state */
    assert_int_equal((m >> 16) & 0x1ff, 4);     /* CR3 targets */
    assert_int_equal(m >> 32, 0);               /* no MSEG */
    assert_int_equal(m, 0x60040067ull);
    assert_int_equal(msr(MSR_VMX_CR0_FIXED0), 0x80000021);
    assert_int_equal(msr(MSR_VMX_CR0_FIXED1), 0xffffffff);
    assert_int_equal(msr(MSR_VMX_CR4_FIXED0), 0x2000);
    assert_int_equal(msr(MSR_VMX_CR4_FIXED1), 0x3767ff & (0x330fff | 0x2000));
    assert_int_equal(msr(MSR_VMX_CR0_FIXED0) & ~msr(MSR_VMX_CR0_FIXED1), 0);
    assert_int_equal(msr(MSR_VMX_CR4_FIXED0) & ~msr(MSR_VMX_CR4_FIXED1), 0);
    assert_int_equal(msr(MSR_VMX_VMCS_ENUM), 0x2e);
    assert_int_equal(msr(MSR_VMX_VMFUNC), 0);
}

static void which_msrs_exist(void **state)
{
    (void)state;
    compute(&tigerlake);
    uint64_t v;
    for (uint32_t m = MSR_VMX_BASIC; m <= MSR_VMX_VMFUNC; m++)
        assert_true(nested_caps_rdmsr(&caps, m, &v));
    assert_false(nested_caps_rdmsr(&caps, 0x492, &v));     /* PROCBASED3 */
    assert_false(nested_caps_rdmsr(&caps, 0x493, &v));     /* EXIT2 */
    assert_false(nested_caps_rdmsr(&caps, 0x47f, &v));
    assert_false(nested_caps_rdmsr(&caps, 0x494, &v));
    assert_false(nested_caps_rdmsr(&caps, 0x3a, &v));
}

static void eptp_and_invalidation_types(void **state)
{
    (void)state;
    compute(&tigerlake);
    assert_true(nested_eptp_valid(&caps, 0x1234000 | 0x1e));         /* WB, 4 levels */
    assert_true(nested_eptp_valid(&caps, 0x1234000 | 0x18));         /* UC */
    assert_true(nested_eptp_valid(&caps, 0x1234000 | 0x5e));         /* A/D */
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x19));        /* type 1 */
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x1f));        /* type 7 */
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x26));        /* 5 levels */
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x0e));        /* 2 levels */
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x9e));        /* bit 7 */
    assert_false(nested_eptp_valid(&caps, 0x1234100 | 0x1e));        /* reserved 11:8 */
    assert_true(nested_eptp_valid(&caps, 0xfffffff000ull | 0x1e));   /* below 2^40 */
    assert_false(nested_eptp_valid(&caps, 0x10000000000ull | 0x1e)); /* bit 40 */
    struct nested_phys p = tigerlake;
    p.ept_vpid &= ~BIT(21);
    compute(&p);
    assert_false(nested_eptp_valid(&caps, 0x1234000 | 0x5e));
    compute(&tigerlake);

    assert_false(nested_invept_type_ok(&caps, 0));
    assert_true(nested_invept_type_ok(&caps, 1));
    assert_true(nested_invept_type_ok(&caps, 2));
    assert_false(nested_invept_type_ok(&caps, 3));
    assert_false(nested_invept_type_ok(&caps, 0x100000001ull));
    for (uint64_t t = 0; t < 4; t++)
        assert_true(nested_invvpid_type_ok(&caps, t));
    assert_false(nested_invvpid_type_ok(&caps, 4));
    assert_false(nested_invvpid_type_ok(&caps, 0x100000000ull));
    assert_false(nested_invvpid_type_ok(&caps, ~0ull));
}

static void vmcs_addresses(void **state)
{
    (void)state;
    compute(&tigerlake);
    assert_true(nested_vmcs_addr_ok(&caps, 0));
    assert_true(nested_vmcs_addr_ok(&caps, 0x123000));
    assert_true(nested_vmcs_addr_ok(&caps, 0xfffffff000ull));
    assert_false(nested_vmcs_addr_ok(&caps, 0x123008));
    assert_false(nested_vmcs_addr_ok(&caps, 0x123800));
    assert_false(nested_vmcs_addr_ok(&caps, 0x10000000000ull));
    assert_false(nested_vmcs_addr_ok(&caps, 1ull << 63));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic_names_nestors_vmcs12),
        cmocka_unit_test(controls_are_self_consistent),
        cmocka_unit_test(only_emulated_controls_are_offered),
        cmocka_unit_test(nothing_the_cpu_lacks_is_offered),
        cmocka_unit_test(ept_vpid_capabilities),
        cmocka_unit_test(misc_and_fixed_bits),
        cmocka_unit_test(which_msrs_exist),
        cmocka_unit_test(eptp_and_invalidation_types),
        cmocka_unit_test(vmcs_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* hv/vmx_caps.c: control adjustment against a VMX capability MSR, and
 * VM-instruction error names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmx.h"

/* A capability MSR: low half = must-be-one, high half = may-be-one. */
static uint64_t cap(uint32_t must_be_one, uint32_t may_be_one)
{
    return (uint64_t)may_be_one << 32 | must_be_one;
}

static void adjust_adds_must_be_one_bits(void **state)
{
    (void)state;
    uint32_t missing = 0xdead;
    assert_int_equal(vmx_adjust_controls(0, cap(0x16, 0xff), &missing), 0x16);
    assert_int_equal(missing, 0);
    assert_int_equal(vmx_adjust_controls(0x80, cap(0x16, 0xff), &missing), 0x96);
    assert_int_equal(missing, 0);
}

static void adjust_keeps_wanted_allowed_bits(void **state)
{
    (void)state;
    uint32_t missing = 0xdead;
    assert_int_equal(vmx_adjust_controls(0xf0000001, cap(0, 0xffffffff), &missing), 0xf0000001);
    assert_int_equal(missing, 0);
}

static void adjust_reports_wanted_bits_the_cpu_cannot_set(void **state)
{
    (void)state;
    uint32_t missing = 0;
    uint32_t v = vmx_adjust_controls(0x301, cap(0x1, 0x0ff), &missing);
    assert_int_equal(missing, 0x300);
    assert_int_equal(v, 0x1);                   /* never sets a forbidden bit */
    assert_int_equal(vmx_adjust_controls(0xffffffff, cap(0, 0), &missing), 0);
    assert_int_equal(missing, 0xffffffff);
}

static void adjust_with_real_pin_based_defaults(void **state)
{
    (void)state;
    /* IA32_VMX_TRUE_PINBASED_CTLS of a typical CPU: 0x0000007f00000016. */
    uint32_t missing;
    uint32_t v = vmx_adjust_controls(BIT(0) | BIT(3) | BIT(6), 0x0000007f00000016ull, &missing);
    assert_int_equal(v, 0x16 | BIT(0) | BIT(3) | BIT(6));
    assert_int_equal(missing, 0);
    v = vmx_adjust_controls(BIT(7), 0x0000007f00000016ull, &missing);   /* posted interrupts */
    assert_int_equal(missing, BIT(7));
    assert_int_equal(v, 0x16);
}

static void error_names_for_known_numbers(void **state)
{
    (void)state;
    assert_string_equal(vmx_instr_error_name(1), "VMCALL executed in VMX root operation");
    assert_string_equal(vmx_instr_error_name(2), "VMCLEAR with invalid physical address");
    assert_string_equal(vmx_instr_error_name(4), "VMLAUNCH with non-clear VMCS");
    assert_string_equal(vmx_instr_error_name(5), "VMRESUME with non-launched VMCS");
    assert_string_equal(vmx_instr_error_name(7), "VM entry with invalid control field(s)");
    assert_string_equal(vmx_instr_error_name(8), "VM entry with invalid host-state field(s)");
    assert_string_equal(vmx_instr_error_name(11), "VMPTRLD with incorrect VMCS revision identifier");
    assert_string_equal(vmx_instr_error_name(12), "VMREAD/VMWRITE from/to unsupported VMCS component");
    assert_string_equal(vmx_instr_error_name(13), "VMWRITE to read-only VMCS component");
    assert_string_equal(vmx_instr_error_name(26), "VM entry with events blocked by MOV SS");
    assert_string_equal(vmx_instr_error_name(28), "invalid operand to INVEPT/INVVPID");
}

static void every_sdm_error_number_has_a_name(void **state)
{
    (void)state;
    /* SDM 31.4: 1-13, 15-20, 22-26, 28. */
    for (uint32_t e = 1; e <= 28; e++) {
        bool defined = e != 14 && e != 21 && e != 27;
        const char *name = vmx_instr_error_name(e);
        assert_non_null(name);
        if (defined != (strcmp(name, "unknown VM-instruction error") != 0))
            fail_msg("error %u: '%s'", e, name);
    }
}

static void error_names_for_unknown_numbers(void **state)
{
    (void)state;
    static const uint32_t unknown[] = { 0, 14, 21, 27, 29, 30, 64, 1000, 0x80000000u, UINT32_MAX };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_string_equal(vmx_instr_error_name(unknown[i]), "unknown VM-instruction error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adjust_adds_must_be_one_bits),
        cmocka_unit_test(adjust_keeps_wanted_allowed_bits),
        cmocka_unit_test(adjust_reports_wanted_bits_the_cpu_cannot_set),
        cmocka_unit_test(adjust_with_real_pin_based_defaults),
        cmocka_unit_test(error_names_for_known_numbers),
        cmocka_unit_test(every_sdm_error_number_has_a_name),
        cmocka_unit_test(error_names_for_unknown_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

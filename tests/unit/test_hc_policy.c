/* hv/hc_policy.c: hypercall argument rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hc_policy.h"
#include "xen_abi.h"

static void target_self_is_allowed_without_privilege(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_target(2, false, 2, true), 0);
    assert_int_equal(hc_policy_target(0, false, 0, true), 0);
}

static void target_other_needs_privilege(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_target(2, false, 3, true), -XEN_EPERM);
    assert_int_equal(hc_policy_target(2, false, 0, true), -XEN_EPERM);
    assert_int_equal(hc_policy_target(0, true, 3, true), 0);
}

static void target_must_exist(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_target(0, true, 9, false), -XEN_ESRCH);
    assert_int_equal(hc_policy_target(4, false, 4, false), -XEN_ESRCH);
}

static void unprivileged_caller_cannot_probe_for_domains(void **state)
{
    (void)state;
    /* Permission is checked first: no ESRCH/EPERM oracle for others. */
    assert_int_equal(hc_policy_target(2, false, 9, false), -XEN_EPERM);
    assert_int_equal(hc_policy_target(2, false, 0x7ff0, false), -XEN_EPERM);
}

static void interface_version_must_match_exactly(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_version(XEN_DOMCTL_INTERFACE_VERSION,
                                       XEN_DOMCTL_INTERFACE_VERSION), 0);
    assert_int_equal(hc_policy_version(XEN_DOMCTL_INTERFACE_VERSION - 1,
                                       XEN_DOMCTL_INTERFACE_VERSION), -XEN_EACCES);
    assert_int_equal(hc_policy_version(XEN_DOMCTL_INTERFACE_VERSION + 1,
                                       XEN_DOMCTL_INTERFACE_VERSION), -XEN_EACCES);
    assert_int_equal(hc_policy_version(0, XEN_SYSCTL_INTERFACE_VERSION), -XEN_EACCES);
    assert_int_equal(hc_policy_version(0xffffffffu, XEN_SYSCTL_INTERFACE_VERSION), -XEN_EACCES);
}

static void console_length_up_to_limit(void **state)
{
    (void)state;
    assert_int_equal(CONSOLE_IO_MAX, 16384);
    assert_int_equal(hc_policy_console_len(0), 0);
    assert_int_equal(hc_policy_console_len(1), 0);
    assert_int_equal(hc_policy_console_len(CONSOLE_IO_MAX), 0);
}

static void console_length_above_limit_is_rejected(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_console_len(CONSOLE_IO_MAX + 1), -XEN_EINVAL);
    assert_int_equal(hc_policy_console_len(0x100000000ull), -XEN_EINVAL);
    assert_int_equal(hc_policy_console_len(UINT64_MAX), -XEN_EINVAL);
}

static void shutdown_reasons_up_to_soft_reset(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_poweroff), 0);
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_reboot), 0);
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_suspend), 0);
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_crash), 0);
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_watchdog), 0);
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_soft_reset), 0);
}

static void shutdown_unknown_reason_is_rejected(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_shutdown_reason(SHUTDOWN_MAX + 1), -XEN_EINVAL);
    assert_int_equal(hc_policy_shutdown_reason(0x100000000ull), -XEN_EINVAL);
    assert_int_equal(hc_policy_shutdown_reason(UINT64_MAX), -XEN_EINVAL);
}

static void pause_of_self_is_rejected(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_pause(1, 1, false, 0), -XEN_EINVAL);
    assert_int_equal(hc_policy_pause(1, 1, true, 1), -XEN_EINVAL);
    assert_int_equal(hc_policy_pause(0, 0, false, 5), -XEN_EINVAL);
}

static void pause_of_other_is_allowed_and_nests(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_pause(0, 1, false, 0), 0);
    assert_int_equal(hc_policy_pause(0, 1, false, 7), 0);
}

static void unpause_needs_a_paused_domain(void **state)
{
    (void)state;
    assert_int_equal(hc_policy_pause(0, 1, true, 0), -XEN_EINVAL);
    assert_int_equal(hc_policy_pause(0, 1, true, 1), 0);
    assert_int_equal(hc_policy_pause(0, 1, true, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(target_self_is_allowed_without_privilege),
        cmocka_unit_test(target_other_needs_privilege),
        cmocka_unit_test(target_must_exist),
        cmocka_unit_test(unprivileged_caller_cannot_probe_for_domains),
        cmocka_unit_test(interface_version_must_match_exactly),
        cmocka_unit_test(console_length_up_to_limit),
        cmocka_unit_test(console_length_above_limit_is_rejected),
        cmocka_unit_test(shutdown_reasons_up_to_soft_reset),
        cmocka_unit_test(shutdown_unknown_reason_is_rejected),
        cmocka_unit_test(pause_of_self_is_rejected),
        cmocka_unit_test(pause_of_other_is_allowed_and_nests),
        cmocka_unit_test(unpause_needs_a_paused_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

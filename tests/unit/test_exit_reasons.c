/* hv/exit_reasons.c: basic VM-exit reason names (SDM Appendix C), and a
 * name for every reason the exit dispatcher (hv/exit.h) knows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stats.h"
#include "exit.h"

static void known_reasons_have_their_sdm_names(void **state)
{
    (void)state;
    assert_string_equal(exit_reason_name(0), "EXCEPTION_NMI");
    assert_string_equal(exit_reason_name(1), "EXTERNAL_INTERRUPT");
    assert_string_equal(exit_reason_name(2), "TRIPLE_FAULT");
    assert_string_equal(exit_reason_name(10), "CPUID");
    assert_string_equal(exit_reason_name(12), "HLT");
    assert_string_equal(exit_reason_name(18), "VMCALL");
    assert_string_equal(exit_reason_name(28), "CR_ACCESS");
    assert_string_equal(exit_reason_name(30), "IO_INSTRUCTION");
    assert_string_equal(exit_reason_name(31), "RDMSR");
    assert_string_equal(exit_reason_name(32), "WRMSR");
    assert_string_equal(exit_reason_name(33), "ENTRY_FAIL_GUEST_STATE");
    assert_string_equal(exit_reason_name(48), "EPT_VIOLATION");
    assert_string_equal(exit_reason_name(49), "EPT_MISCONFIG");
    assert_string_equal(exit_reason_name(52), "PREEMPTION_TIMER");
    assert_string_equal(exit_reason_name(75), "NOTIFY");
}

/* Every reason hv/exit.h names (and so can dispatch, count or report). */
static void every_dispatcher_reason_has_its_name(void **state)
{
    (void)state;
    static const struct { unsigned reason; const char *name; } want[] = {
        { EXIT_EXCEPTION_NMI, "EXCEPTION_NMI" }, { EXIT_EXTERNAL_INTERRUPT, "EXTERNAL_INTERRUPT" },
        { EXIT_TRIPLE_FAULT, "TRIPLE_FAULT" }, { EXIT_INIT, "INIT" }, { EXIT_SIPI, "SIPI" },
        { EXIT_CPUID, "CPUID" }, { EXIT_GETSEC, "GETSEC" }, { EXIT_HLT, "HLT" },
        { EXIT_INVD, "INVD" }, { EXIT_RDPMC, "RDPMC" }, { EXIT_VMCALL, "VMCALL" },
        { EXIT_VMCLEAR, "VMCLEAR" }, { EXIT_VMLAUNCH, "VMLAUNCH" }, { EXIT_VMPTRLD, "VMPTRLD" },
        { EXIT_VMPTRST, "VMPTRST" }, { EXIT_VMREAD, "VMREAD" }, { EXIT_VMRESUME, "VMRESUME" },
        { EXIT_VMWRITE, "VMWRITE" }, { EXIT_VMXOFF, "VMXOFF" }, { EXIT_VMXON, "VMXON" },
        { EXIT_CR_ACCESS, "CR_ACCESS" }, { EXIT_IO, "IO_INSTRUCTION" }, { EXIT_RDMSR, "RDMSR" },
        { EXIT_WRMSR, "WRMSR" }, { EXIT_ENTRY_FAIL_GUEST, "ENTRY_FAIL_GUEST_STATE" },
        { EXIT_ENTRY_FAIL_MSR, "ENTRY_FAIL_MSR_LOADING" }, { EXIT_MWAIT, "MWAIT" },
        { EXIT_MONITOR, "MONITOR" }, { EXIT_ENTRY_FAIL_MCE, "ENTRY_FAIL_MACHINE_CHECK" },
        { EXIT_EPT_VIOLATION, "EPT_VIOLATION" }, { EXIT_EPT_MISCONFIG, "EPT_MISCONFIG" },
        { EXIT_INVEPT, "INVEPT" }, { EXIT_PREEMPTION_TIMER, "PREEMPTION_TIMER" },
        { EXIT_INVVPID, "INVVPID" }, { EXIT_WBINVD, "WBINVD" }, { EXIT_XSETBV, "XSETBV" },
        { EXIT_VMFUNC, "VMFUNC" },
    };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_true(want[i].reason < NESTOR_NR_EXIT_REASONS);
        assert_string_equal(exit_reason_name(want[i].reason), want[i].name);
    }
}

/* SDM Appendix C: every basic reason from 0 to 64 (bar the reserved 35,
 * 38 and 42), plus SPP, UMWAIT, TPAUSE, LOADIWKEY, bus lock and notify.
 * (65 PCONFIG, 70 ENCLV, 72/73 ENQCMD(S) and 76/77 SEAMCALL/TDCALL have
 * no name today: they are reported as UNKNOWN.) */
static void every_sdm_reason_up_to_64_has_a_name(void **state)
{
    (void)state;
    static const unsigned later[] = { 66, 67, 68, 69, 74, 75 };
    for (unsigned r = 0; r <= 64; r++) {
        if (r == 35 || r == 38 || r == 42)
            continue;
        if (!strcmp(exit_reason_name(r), "UNKNOWN"))
            fail_msg("exit reason %u has no name", r);
    }
    for (unsigned i = 0; i < sizeof(later) / sizeof(later[0]); i++)
        if (!strcmp(exit_reason_name(later[i]), "UNKNOWN"))
            fail_msg("exit reason %u has no name", later[i]);
}

static void names_are_unique_identifiers(void **state)
{
    (void)state;
    for (unsigned a = 0; a < NESTOR_NR_EXIT_REASONS; a++) {
        const char *n = exit_reason_name(a);
        assert_non_null(n);
        assert_true(n[0] != '\0');
        for (const char *c = n; *c; c++)
            assert_true((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_');
        if (!strcmp(n, "UNKNOWN"))
            continue;
        for (unsigned b = a + 1; b < NESTOR_NR_EXIT_REASONS; b++)
            if (!strcmp(n, exit_reason_name(b)))
                fail_msg("reasons %u and %u are both %s", a, b, n);
    }
}

static void reserved_reasons_are_unknown(void **state)
{
    (void)state;
    assert_string_equal(exit_reason_name(35), "UNKNOWN");
    assert_string_equal(exit_reason_name(38), "UNKNOWN");
    assert_string_equal(exit_reason_name(42), "UNKNOWN");
    assert_string_equal(exit_reason_name(79), "UNKNOWN");
}

static void out_of_range_reasons_are_unknown(void **state)
{
    (void)state;
    assert_int_equal(NESTOR_NR_EXIT_REASONS, 80);
    assert_string_equal(exit_reason_name(NESTOR_NR_EXIT_REASONS), "UNKNOWN");
    assert_string_equal(exit_reason_name(1000), "UNKNOWN");
    assert_string_equal(exit_reason_name(0x80000021u), "UNKNOWN");   /* full reason, entry failure */
    assert_string_equal(exit_reason_name(~0u), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_reasons_have_their_sdm_names),
        cmocka_unit_test(every_dispatcher_reason_has_its_name),
        cmocka_unit_test(every_sdm_reason_up_to_64_has_a_name),
        cmocka_unit_test(names_are_unique_identifiers),
        cmocka_unit_test(reserved_reasons_are_unknown),
        cmocka_unit_test(out_of_range_reasons_are_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

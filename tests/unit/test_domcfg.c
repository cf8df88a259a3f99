/* hv/domcfg.c: the boot module command-line parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domcfg.h"

static struct domcfg cfg;
static char err[128];

/* Parses a heap copy of exactly strlen+1 bytes, so ASan sees overreads. */
static int parse(const char *cmdline)
{
    size_t n = strlen(cmdline) + 1;
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, cmdline, n);
    memset(err, 0, sizeof(err));
    memset(&cfg, 0xcc, sizeof(cfg));
    int r = domcfg_parse(copy, &cfg, err, sizeof(err));
    free(copy);
    return r;
}

static void expect_ok(const char *cmdline)
{
    if (parse(cmdline) != 0)
        fail_msg("'%s' rejected: %s", cmdline, err);
}

static void expect_fail(const char *cmdline, const char *needle)
{
    if (parse(cmdline) != -1)
        fail_msg("'%s' accepted", cmdline);
    if (!strstr(err, needle))
        fail_msg("'%s': error '%s' does not mention '%s'", cmdline, err, needle);
}

static void defaults_apply_when_only_a_kind_is_given(void **state)
{
    (void)state;
    expect_ok("elf");
    assert_int_equal(cfg.kind, KIND_ELF);
    assert_string_equal(cfg.name, "domain");
    assert_int_equal(cfg.mem, DOMCFG_MEM_DEFAULT);
    assert_false(cfg.priv);
    assert_int_equal(cfg.debug, DEBUG_NONE);
    assert_false(cfg.nested);
    assert_string_equal(cfg.args, "");
}

static void every_kind_is_recognised(void **state)
{
    (void)state;
    expect_ok("elf");
    assert_int_equal(cfg.kind, KIND_ELF);
    expect_ok("mb1");
    assert_int_equal(cfg.kind, KIND_MB1);
    expect_ok("mb2");
    assert_int_equal(cfg.kind, KIND_MB2);
    expect_ok("mod");
    assert_int_equal(cfg.kind, KIND_MOD);
}

static void unknown_or_missing_kind_is_rejected(void **state)
{
    (void)state;
    expect_fail("", "unknown kind ''");
    expect_fail("   ", "unknown kind ''");
    expect_fail("elf64", "unknown kind 'elf64'");
    expect_fail("ELF", "unknown kind 'ELF'");
    expect_fail("el", "unknown kind 'el'");
    expect_fail("name=x elf", "unknown kind 'name=x'");
    expect_fail("bzimage mem=16M", "want elf, mb1, mb2 or mod");
}

static void mod_kind_ignores_the_rest_of_the_line(void **state)
{
    (void)state;
    expect_ok("mod initrd bogus=1 -- x");
    assert_int_equal(cfg.kind, KIND_MOD);
    assert_string_equal(cfg.name, "domain");
    assert_string_equal(cfg.args, "");
}

static void leading_and_repeated_whitespace_is_skipped(void **state)
{
    (void)state;
    expect_ok(" \t mb2 \t name=a\t\tmem=8M   priv  ");
    assert_int_equal(cfg.kind, KIND_MB2);
    assert_string_equal(cfg.name, "a");
    assert_int_equal(cfg.mem, 8 * MiB);
    assert_true(cfg.priv);
}

static void every_option_is_parsed(void **state)
{
    (void)state;
    expect_ok("mb1 name=linux mem=64M priv debug=bad-controls -- console=ttyS0 quiet");
    assert_int_equal(cfg.kind, KIND_MB1);
    assert_string_equal(cfg.name, "linux");
    assert_int_equal(cfg.mem, 64 * MiB);
    assert_true(cfg.priv);
    assert_int_equal(cfg.debug, DEBUG_BAD_CONTROLS);
    assert_string_equal(cfg.args, "console=ttyS0 quiet");
}

static void name_accepts_1_to_31_characters(void **state)
{
    (void)state;
    expect_ok("elf name=x");
    assert_string_equal(cfg.name, "x");
    expect_ok("elf name=abcdefghijklmnopqrstuvwxyz01234");
    assert_string_equal(cfg.name, "abcdefghijklmnopqrstuvwxyz01234");
    expect_ok("elf name=a=b");              /* only the first '=' separates */
    assert_string_equal(cfg.name, "a=b");
}

static void name_empty_or_too_long_is_rejected(void **state)
{
    (void)state;
    expect_fail("elf name=", "name must be 1-31 characters");
    expect_fail("elf name=abcdefghijklmnopqrstuvwxyz012345", "name must be 1-31 characters");
    expect_fail("elf name", "unknown option 'name'");
}

static void mem_accepts_suffixes_and_hex(void **state)
{
    (void)state;
    expect_ok("elf mem=16M");
    assert_int_equal(cfg.mem, 16 * MiB);
    expect_ok("elf mem=16m");
    assert_int_equal(cfg.mem, 16 * MiB);
    expect_ok("elf mem=1G");
    assert_int_equal(cfg.mem, 1 * GiB);
    expect_ok("elf mem=1g");
    assert_int_equal(cfg.mem, 1 * GiB);
    expect_ok("elf mem=8192K");
    assert_int_equal(cfg.mem, 8 * MiB);
    expect_ok("elf mem=8192k");
    assert_int_equal(cfg.mem, 8 * MiB);
    expect_ok("elf mem=0x1000000");
    assert_int_equal(cfg.mem, 16 * MiB);
    expect_ok("elf mem=16777216");
    assert_int_equal(cfg.mem, 16 * MiB);
}

static void mem_is_rounded_up_to_2m(void **state)
{
    (void)state;
    expect_ok("elf mem=5M");
    assert_int_equal(cfg.mem, 6 * MiB);
    expect_ok("elf mem=4194305");
    assert_int_equal(cfg.mem, 6 * MiB);
    expect_ok("elf mem=2047M");
    assert_int_equal(cfg.mem, 2 * GiB);
}

static void mem_bounds_are_4m_to_2g(void **state)
{
    (void)state;
    expect_ok("elf mem=4M");
    assert_int_equal(cfg.mem, DOMCFG_MEM_MIN);
    expect_ok("elf mem=2G");
    assert_int_equal(cfg.mem, DOMCFG_MEM_MAX);
    expect_ok("elf mem=2048M");
    assert_int_equal(cfg.mem, DOMCFG_MEM_MAX);
    expect_fail("elf mem=4194303", "need a size from 4M to 2G");
    expect_fail("elf mem=3M", "mem=3M");
    expect_fail("elf mem=0", "need a size");
    expect_fail("elf mem=2049M", "mem=2049M: need a size from 4M to 2G");
    expect_fail("elf mem=2147483649", "need a size");
    expect_fail("elf mem=3G", "need a size");
}

static void mem_junk_or_overflow_is_rejected(void **state)
{
    (void)state;
    expect_fail("elf mem=", "need a size");
    expect_fail("elf mem=M", "need a size");
    expect_fail("elf mem=16MB", "need a size");
    expect_fail("elf mem=16T", "need a size");
    expect_fail("elf mem=-16M", "need a size");
    expect_fail("elf mem=0x", "need a size");
    expect_fail("elf mem=0x10M", "need a size");
    expect_fail("elf mem=99999999999999999999", "need a size");
    expect_fail("elf mem=17179869184G", "need a size");
    expect_fail("elf mem", "unknown option 'mem'");
}

static void priv_takes_no_value(void **state)
{
    (void)state;
    expect_ok("elf priv");
    assert_true(cfg.priv);
    expect_fail("elf priv=1", "unknown option 'priv=1'");
    expect_fail("elf privileged", "unknown option 'privileged'");
}

static void debug_knobs_are_recognised(void **state)
{
    (void)state;
    expect_ok("elf debug=bad-guest-state");
    assert_int_equal(cfg.debug, DEBUG_BAD_GUEST_STATE);
    expect_ok("elf debug=bad-controls");
    assert_int_equal(cfg.debug, DEBUG_BAD_CONTROLS);
}

static void unknown_debug_knob_is_rejected(void **state)
{
    (void)state;
    expect_fail("elf debug=bad", "unknown debug knob 'bad'");
    expect_fail("elf debug=", "unknown debug knob ''");
    expect_fail("elf debug=bad-controls-x", "unknown debug knob");
    expect_fail("elf debug", "unknown option 'debug'");
}

static void nested_is_0_or_1(void **state)
{
    (void)state;
    expect_ok("elf nested=1");
    assert_true(cfg.nested);
    expect_ok("elf nested=0");
    assert_false(cfg.nested);
    expect_ok("mb2 nested=1 nested=0");
    assert_false(cfg.nested);
    expect_ok("elf mem=64M nested=1 priv -- nested=0");
    assert_true(cfg.nested);
    assert_true(cfg.priv);
    assert_string_equal(cfg.args, "nested=0");
}

static void vmcs_shadowing_defaults_on(void **state)
{
    (void)state;
    expect_ok("elf nested=1");
    assert_false(cfg.no_vmcs_shadowing);
    expect_ok("elf nested=1 vmcs_shadowing=0");
    assert_true(cfg.no_vmcs_shadowing);
    expect_ok("elf vmcs_shadowing=0 vmcs_shadowing=1");
    assert_false(cfg.no_vmcs_shadowing);
    expect_fail("elf vmcs_shadowing=2", "vmcs_shadowing=2: want 0 or 1");
}

static void nested_other_values_are_rejected(void **state)
{
    (void)state;
    expect_fail("elf nested=2", "nested=2: want 0 or 1");
    expect_fail("elf nested=yes", "want 0 or 1");
    expect_fail("elf nested=", "nested=: want 0 or 1");
    expect_fail("elf nested=11", "want 0 or 1");
    expect_fail("elf nested", "unknown option 'nested'");
}

static void unknown_option_is_rejected_by_name(void **state)
{
    (void)state;
    expect_fail("elf vcpus=2", "unknown option 'vcpus=2'");
    expect_fail("elf name=a memory=4M", "unknown option 'memory=4M'");
    expect_fail("elf =x", "unknown option '=x'");
    expect_fail("elf --x", "unknown option '--x'");
    expect_fail("elf NAME=x", "unknown option 'NAME=x'");
}

static void later_options_override_earlier_ones(void **state)
{
    (void)state;
    expect_ok("elf mem=8M name=a mem=12M name=b");
    assert_int_equal(cfg.mem, 12 * MiB);
    assert_string_equal(cfg.name, "b");
}

static void args_follow_double_dash_verbatim(void **state)
{
    (void)state;
    expect_ok("elf name=g --   a  b\tc --  mem=1 ");
    assert_string_equal(cfg.args, "a  b\tc --  mem=1 ");
    assert_int_equal(cfg.mem, DOMCFG_MEM_DEFAULT);   /* not parsed as options */
    assert_string_equal(cfg.name, "g");
}

static void options_after_double_dash_are_not_checked(void **state)
{
    (void)state;
    expect_ok("elf -- mem=1 bogus");
    assert_string_equal(cfg.args, "mem=1 bogus");
}

static void empty_args_after_double_dash(void **state)
{
    (void)state;
    expect_ok("elf --");
    assert_string_equal(cfg.args, "");
    expect_ok("elf --   ");
    assert_string_equal(cfg.args, "");
}

static void args_up_to_511_bytes_are_accepted(void **state)
{
    (void)state;
    char line[600], want[DOMCFG_ARGS_MAX];
    memset(want, 'a', DOMCFG_ARGS_MAX - 1);
    want[DOMCFG_ARGS_MAX - 1] = '\0';
    snprintf(line, sizeof(line), "elf -- %s", want);
    expect_ok(line);
    assert_string_equal(cfg.args, want);
}

static void args_of_512_bytes_are_rejected(void **state)
{
    (void)state;
    char line[600], args[DOMCFG_ARGS_MAX + 1];
    memset(args, 'a', DOMCFG_ARGS_MAX);
    args[DOMCFG_ARGS_MAX] = '\0';
    snprintf(line, sizeof(line), "elf -- %s", args);
    expect_fail(line, "guest arguments longer than 511 bytes");
}

static void long_unknown_option_message_is_truncated(void **state)
{
    (void)state;
    char line[400], small[16];
    memset(line, 'z', sizeof(line));
    memcpy(line, "elf ", 4);
    line[sizeof(line) - 1] = '\0';
    memset(small, 'x', sizeof(small));
    assert_int_equal(domcfg_parse(line, &cfg, small, 10), -1);
    assert_string_equal(small, "unknown o");
    assert_int_equal(small[10], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply_when_only_a_kind_is_given),
        cmocka_unit_test(every_kind_is_recognised),
        cmocka_unit_test(unknown_or_missing_kind_is_rejected),
        cmocka_unit_test(mod_kind_ignores_the_rest_of_the_line),
        cmocka_unit_test(leading_and_repeated_whitespace_is_skipped),
        cmocka_unit_test(every_option_is_parsed),
        cmocka_unit_test(name_accepts_1_to_31_characters),
        cmocka_unit_test(name_empty_or_too_long_is_rejected),
        cmocka_unit_test(mem_accepts_suffixes_and_hex),
        cmocka_unit_test(mem_is_rounded_up_to_2m),
        cmocka_unit_test(mem_bounds_are_4m_to_2g),
        cmocka_unit_test(mem_junk_or_overflow_is_rejected),
        cmocka_unit_test(priv_takes_no_value),
        cmocka_unit_test(debug_knobs_are_recognised),
        cmocka_unit_test(unknown_debug_knob_is_rejected),
        cmocka_unit_test(unknown_option_is_rejected_by_name),
        cmocka_unit_test(later_options_override_earlier_ones),
        cmocka_unit_test(args_follow_double_dash_verbatim),
        cmocka_unit_test(options_after_double_dash_are_not_checked),
        cmocka_unit_test(empty_args_after_double_dash),
        cmocka_unit_test(args_up_to_511_bytes_are_accepted),
        cmocka_unit_test(args_of_512_bytes_are_rejected),
        cmocka_unit_test(long_unknown_option_message_is_truncated),
        cmocka_unit_test(nested_is_0_or_1),
        cmocka_unit_test(nested_other_values_are_rejected),
        cmocka_unit_test(vmcs_shadowing_defaults_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

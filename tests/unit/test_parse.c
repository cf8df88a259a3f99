/* hv/parse.c: parse_u64, strcpy_bounded, memchr_local. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib.h"

/* Parses an exact-size heap copy (no NUL) so ASan catches overreads. */
static bool parse(const char *s, uint64_t *out, bool suffix)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    bool ok = parse_u64(copy, n, out, suffix);
    free(copy);
    return ok;
}

static void expect_parsed(const char *s, bool suffix, uint64_t want)
{
    uint64_t v = 0xdeadbeef;
    if (!parse(s, &v, suffix))
        fail_msg("'%s' rejected", s);
    assert_int_equal(v, want);
}

static void expect_junk(const char *s, bool suffix)
{
    uint64_t v = 0x5a5a;
    if (parse(s, &v, suffix))
        fail_msg("'%s' accepted as %#lx", s, v);
    assert_int_equal(v, 0x5a5a);                /* output untouched */
}

static void decimal_numbers(void **state)
{
    (void)state;
    expect_parsed("0", false, 0);
    expect_parsed("7", false, 7);
    expect_parsed("4096", false, 4096);
    expect_parsed("000123", false, 123);
    expect_parsed("18446744073709551615", false, UINT64_MAX);
}

static void hex_numbers(void **state)
{
    (void)state;
    expect_parsed("0x0", false, 0);
    expect_parsed("0x1f", false, 0x1f);
    expect_parsed("0XABCdef", false, 0xabcdef);
    expect_parsed("0x00000000000000001", false, 1);
    expect_parsed("0xffffffffffffffff", false, UINT64_MAX);
    expect_parsed("0x10", true, 16);             /* suffixes allowed, none given */
}

static void size_suffixes(void **state)
{
    (void)state;
    expect_parsed("4k", true, 4 * KiB);
    expect_parsed("4K", true, 4 * KiB);
    expect_parsed("16m", true, 16 * MiB);
    expect_parsed("16M", true, 16 * MiB);
    expect_parsed("2g", true, 2 * GiB);
    expect_parsed("2G", true, 2 * GiB);
    expect_parsed("0M", true, 0);
    expect_parsed("17179869183G", true, 17179869183ull * GiB);
}

static void suffix_rejected_when_not_allowed(void **state)
{
    (void)state;
    expect_junk("16M", false);
    expect_junk("4k", false);
    expect_junk("1G", false);
}

static void suffix_alone_or_on_hex_is_junk(void **state)
{
    (void)state;
    expect_junk("M", true);
    expect_junk("k", true);
    expect_junk("0x10M", true);
    expect_junk("0x1G", true);
    expect_junk("16MM", true);
    expect_junk("16T", true);
    expect_junk("16KB", true);
}

static void empty_and_prefix_only_are_junk(void **state)
{
    (void)state;
    expect_junk("", false);
    expect_junk("", true);
    expect_junk("0x", false);
    expect_junk("0X", true);
    expect_junk("x10", false);
}

static void junk_characters_are_rejected(void **state)
{
    (void)state;
    expect_junk("12a", false);                  /* hex digit in decimal */
    expect_junk("0x1g", false);
    expect_junk(" 1", false);
    expect_junk("1 ", false);
    expect_junk("+1", false);
    expect_junk("-1", false);
    expect_junk("1.5", false);
    expect_junk("1_000", false);
    expect_junk("0x-1", false);
    expect_junk("1\n", false);
}

static void overflow_is_rejected(void **state)
{
    (void)state;
    expect_junk("18446744073709551616", false);
    expect_junk("99999999999999999999", false);
    expect_junk("0x10000000000000000", false);
    expect_junk("0x1ffffffffffffffff", false);
    expect_junk("17179869184G", true);          /* 2^34 GiB = 2^64 */
    expect_junk("18014398509481984K", true);    /* 2^54 KiB = 2^64 */
    expect_junk("18446744073709551615K", true);
}

static void only_len_bytes_are_read(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_true(parse_u64("123456", 3, &v, false));
    assert_int_equal(v, 123);
    assert_true(parse_u64("16Mjunk", 3, &v, true));
    assert_int_equal(v, 16 * MiB);
    assert_true(parse_u64("0x1fz", 4, &v, false));
    assert_int_equal(v, 0x1f);
    assert_false(parse_u64("5", 0, &v, false));
}

static void strcpy_bounded_copies_short_strings(void **state)
{
    (void)state;
    char d[8];
    memset(d, 'x', sizeof(d));
    strcpy_bounded(d, "abc", sizeof(d));
    assert_string_equal(d, "abc");
    assert_int_equal(d[4], 'x');                /* nothing past the NUL */
    strcpy_bounded(d, "", sizeof(d));
    assert_string_equal(d, "");
}

static void strcpy_bounded_truncates_and_terminates(void **state)
{
    (void)state;
    char *d = malloc(8);
    assert_non_null(d);
    strcpy_bounded(d, "abcdefghijkl", 8);
    assert_string_equal(d, "abcdefg");
    strcpy_bounded(d, "1234567", 8);            /* exact fit */
    assert_string_equal(d, "1234567");
    strcpy_bounded(d, "12345678", 8);
    assert_string_equal(d, "1234567");
    free(d);
}

static void strcpy_bounded_size_one_gives_empty_string(void **state)
{
    (void)state;
    char *d = malloc(1);
    assert_non_null(d);
    strcpy_bounded(d, "abc", 1);
    assert_int_equal(d[0], '\0');
    free(d);
}

static void strcpy_bounded_reads_no_more_than_it_copies(void **state)
{
    (void)state;
    /* An unterminated source is fine as long as size-1 bytes exist. */
    char *src = malloc(4);
    assert_non_null(src);
    memcpy(src, "wxyz", 4);
    char d[5];
    strcpy_bounded(d, src, sizeof(d));
    assert_string_equal(d, "wxyz");
    free(src);
}

static void memchr_local_finds_first_match(void **state)
{
    (void)state;
    const char s[] = "a=b=c";
    assert_ptr_equal(memchr_local(s, '=', 5), s + 1);
    assert_ptr_equal(memchr_local(s, 'a', 5), s);
    assert_ptr_equal(memchr_local(s, 'c', 5), s + 4);
    assert_ptr_equal(memchr_local(s, '\0', 6), s + 5);
}

static void memchr_local_stops_at_n(void **state)
{
    (void)state;
    const char s[] = "abc=";
    assert_null(memchr_local(s, '=', 3));
    assert_null(memchr_local(s, 'a', 0));
    assert_null(memchr_local(s, 'z', 4));
}

static void memchr_local_compares_as_unsigned_char(void **state)
{
    (void)state;
    const uint8_t s[] = { 0x10, 0xff, 0x41 };
    assert_ptr_equal(memchr_local(s, 0xff, 3), s + 1);
    assert_ptr_equal(memchr_local(s, -1, 3), s + 1);
    assert_ptr_equal(memchr_local(s, 0x141, 3), s + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decimal_numbers),
        cmocka_unit_test(hex_numbers),
        cmocka_unit_test(size_suffixes),
        cmocka_unit_test(suffix_rejected_when_not_allowed),
        cmocka_unit_test(suffix_alone_or_on_hex_is_junk),
        cmocka_unit_test(empty_and_prefix_only_are_junk),
        cmocka_unit_test(junk_characters_are_rejected),
        cmocka_unit_test(overflow_is_rejected),
        cmocka_unit_test(only_len_bytes_are_read),
        cmocka_unit_test(strcpy_bounded_copies_short_strings),
        cmocka_unit_test(strcpy_bounded_truncates_and_terminates),
        cmocka_unit_test(strcpy_bounded_size_one_gives_empty_string),
        cmocka_unit_test(strcpy_bounded_reads_no_more_than_it_copies),
        cmocka_unit_test(memchr_local_finds_first_match),
        cmocka_unit_test(memchr_local_stops_at_n),
        cmocka_unit_test(memchr_local_compares_as_unsigned_char),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

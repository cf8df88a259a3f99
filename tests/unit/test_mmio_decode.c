/* hv/mmio_decode.c: the MOV forms of MMIO accesses, with every prefix,
 * ModRM/SIB/displacement form and operand/address size, and what is
 * refused.  Encodings checked against the SDM Vol. 2 tables (and GNU as). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mmio_decode.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static struct mmio_op op;

static enum mmio_error dec(const uint8_t *b, size_t n, enum mmio_mode m)
{
    return mmio_decode(b, (unsigned)n, m, &op);
}

/* Decodes b in mode m and checks the result. */
static void ok(const uint8_t *b, size_t n, enum mmio_mode m, bool write, unsigned reg, unsigned size,
               unsigned len)
{
    assert_int_equal(dec(b, n, m), MMIO_OK);
    assert_int_equal(op.write, write);
    assert_false(op.has_imm);
    assert_int_equal(op.reg, reg);
    assert_int_equal(op.size, size);
    assert_int_equal(op.len, len);
}

static void imm(const uint8_t *b, size_t n, enum mmio_mode m, uint64_t value, unsigned size, unsigned len)
{
    assert_int_equal(dec(b, n, m), MMIO_OK);
    assert_true(op.write);
    assert_true(op.has_imm);
    assert_int_equal(op.imm, value);
    assert_int_equal(op.size, size);
    assert_int_equal(op.len, len);
}

static void loads_and_stores_64(void **state)
{
    (void)state;
    ok(B(0x8b, 0x00), MMIO_MODE64, false, 0, 4, 2);                 /* mov (%rax),%eax */
    ok(B(0x89, 0x0a), MMIO_MODE64, true, 1, 4, 2);                  /* mov %ecx,(%rdx) */
    ok(B(0x8b, 0x5e, 0x30), MMIO_MODE64, false, 3, 4, 3);           /* mov 0x30(%rsi),%ebx */
    ok(B(0x8b, 0x97, 0x00, 0x03, 0x00, 0x00), MMIO_MODE64, false, 2, 4, 6);  /* mov 0x300(%rdi),%edx */
    ok(B(0x44, 0x8b, 0x00), MMIO_MODE64, false, 8, 4, 3);           /* mov (%rax),%r8d: REX.R */
    ok(B(0x45, 0x89, 0x3f), MMIO_MODE64, true, 15, 4, 3);           /* mov %r15d,(%r15): REX.B only names the base */
    ok(B(0x48, 0x8b, 0x00), MMIO_MODE64, false, 0, 8, 3);           /* mov (%rax),%rax: REX.W */
    ok(B(0x66, 0x8b, 0x00), MMIO_MODE64, false, 0, 2, 3);           /* mov (%rax),%ax */
    ok(B(0x66, 0x48, 0x8b, 0x00), MMIO_MODE64, false, 0, 8, 4);     /* REX.W beats 66 */
    ok(B(0x8b, 0x24, 0x24), MMIO_MODE64, false, 4, 4, 3);           /* mov (%rsp),%esp: SIB */
}

static void modrm_sib_forms(void **state)
{
    (void)state;
    /* mod 00 r/m 101: RIP-relative disp32 in 64-bit mode, disp32 elsewhere. */
    ok(B(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), MMIO_MODE64, false, 0, 4, 6);
    ok(B(0x8b, 0x05, 0xb0, 0x00, 0xe0, 0xfe), MMIO_MODE32, false, 0, 4, 6);
    /* SIB with no base (base 101, mod 00): disp32 absolute, e.g. 0xfee000b0 in 32-bit code. */
    ok(B(0x89, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe), MMIO_MODE64, true, 0, 4, 7);
    /* SIB base 101 with mod 01/10: [rbp + disp8/32]. */
    ok(B(0x8b, 0x44, 0x25, 0x08), MMIO_MODE64, false, 0, 4, 4);
    ok(B(0x8b, 0x84, 0x8d, 0x00, 0x01, 0x00, 0x00), MMIO_MODE64, false, 0, 4, 7);
    /* index * scale + base + disp8. */
    ok(B(0x8b, 0x4c, 0xc8, 0xf0), MMIO_MODE64, false, 1, 4, 4);
    /* mod 01 / 10 without SIB. */
    ok(B(0x89, 0x51, 0x7f), MMIO_MODE64, true, 2, 4, 3);
    ok(B(0x89, 0x91, 0x00, 0x03, 0x00, 0x00), MMIO_MODE64, true, 2, 4, 6);
    /* Address-size prefix in 64-bit mode: same ModRM layout (32-bit). */
    ok(B(0x67, 0x8b, 0x00), MMIO_MODE64, false, 0, 4, 3);
    /* 16-bit addressing: [bx+si], [disp16], [bp+disp8], [bx+disp16]. */
    ok(B(0x8b, 0x00), MMIO_MODE16, false, 0, 2, 2);
    ok(B(0x8b, 0x06, 0xb0, 0x00), MMIO_MODE16, false, 0, 2, 4);
    ok(B(0x8b, 0x46, 0x10), MMIO_MODE16, false, 0, 2, 3);
    ok(B(0x66, 0x89, 0x87, 0x00, 0x03), MMIO_MODE16, true, 0, 4, 5);
    /* 67 in 32-bit code: 16-bit addressing; in 16-bit code: 32-bit with SIB. */
    ok(B(0x67, 0x8b, 0x06, 0x30, 0x00), MMIO_MODE32, false, 0, 4, 5);
    ok(B(0x67, 0x66, 0x8b, 0x04, 0x25, 0x30, 0x00, 0xe0, 0xfe), MMIO_MODE16, false, 0, 4, 9);
}

static void immediates(void **state)
{
    (void)state;
    /* movl $0x000c4500,0x300(%rax) (kvm-unit-tests' smp_init INIT IPI form). */
    imm(B(0xc7, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x45, 0x0c, 0x00), MMIO_MODE64, 0x000c4500, 4, 10);
    /* movl $0,0xb0(%rax) with SIB and disp8. */
    imm(B(0xc7, 0x44, 0x24, 0x10, 0x00, 0x00, 0x00, 0x00), MMIO_MODE64, 0, 4, 8);
    /* movq $-1,(%rax): imm32 sign-extended. */
    imm(B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), MMIO_MODE64, ~0ull, 8, 7);
    /* movw $0x1234,(%rax): imm16. */
    imm(B(0x66, 0xc7, 0x00, 0x34, 0x12), MMIO_MODE64, 0x1234, 2, 5);
    /* 32-bit code, absolute disp32, imm32. */
    imm(B(0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00), MMIO_MODE32, 0x1ff, 4, 10);
    /* 16-bit code: imm16 unless 66. */
    imm(B(0xc7, 0x07, 0x01, 0x00), MMIO_MODE16, 1, 2, 4);
}

static void moffs(void **state)
{
    (void)state;
    /* movabs 0xfee00030,%eax: 64-bit moffs. */
    ok(B(0xa1, 0x30, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00), MMIO_MODE64, false, 0, 4, 9);
    /* movabs %rax,0xfee00080. */
    ok(B(0x48, 0xa3, 0x80, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00), MMIO_MODE64, true, 0, 8, 10);
    /* 67 in 64-bit mode: 32-bit moffs. */
    ok(B(0x67, 0xa1, 0x30, 0x00, 0xe0, 0xfe), MMIO_MODE64, false, 0, 4, 6);
    /* 32-bit code: moffs32. */
    ok(B(0xa3, 0xb0, 0x00, 0xe0, 0xfe), MMIO_MODE32, true, 0, 4, 5);
    /* 16-bit code: moffs16, 16-bit operand. */
    ok(B(0xa1, 0x20, 0x00), MMIO_MODE16, false, 0, 2, 3);
}

static void prefixes(void **state)
{
    (void)state;
    /* Segment overrides are recorded; several prefixes combine. */
    ok(B(0x64, 0x8b, 0x00), MMIO_MODE64, false, 0, 4, 3);
    assert_int_equal(op.seg, 4);
    ok(B(0x2e, 0x3e, 0x89, 0x08), MMIO_MODE64, true, 1, 4, 4);
    assert_int_equal(op.seg, 3);
    ok(B(0x26, 0x66, 0x67, 0x8b, 0x00), MMIO_MODE32, false, 0, 2, 5);
    assert_int_equal(op.seg, 0);
    ok(B(0x8b, 0x00), MMIO_MODE64, false, 0, 4, 2);
    assert_int_equal(op.seg, -1);
    /* A REX followed by a legacy prefix is ignored (SDM 2.2.1). */
    ok(B(0x48, 0x66, 0x8b, 0x00), MMIO_MODE64, false, 0, 2, 4);
    /* Outside 64-bit mode 0x40-0x4f are INC/DEC, not REX. */
    assert_int_equal(dec(B(0x48, 0x8b, 0x00), MMIO_MODE32), MMIO_E_OPCODE);
}

static void refused(void **state)
{
    (void)state;
    assert_int_equal(dec(B(0xf0, 0x89, 0x00), MMIO_MODE64), MMIO_E_PREFIX);      /* LOCK */
    assert_int_equal(dec(B(0xf3, 0xa5), MMIO_MODE64), MMIO_E_PREFIX);            /* rep movs */
    assert_int_equal(dec(B(0x0f, 0xb6, 0x00), MMIO_MODE64), MMIO_E_OPCODE);      /* movzbl */
    assert_int_equal(dec(B(0x09, 0x08), MMIO_MODE64), MMIO_E_OPCODE);            /* or %ecx,(%rax) */
    assert_int_equal(dec(B(0x88, 0x08), MMIO_MODE64), MMIO_E_OPCODE);            /* byte store */
    assert_int_equal(dec(B(0xc7, 0x08, 0, 0, 0, 0), MMIO_MODE64), MMIO_E_OPCODE); /* C7 /1 */
    assert_int_equal(dec(B(0x8b, 0xc1), MMIO_MODE64), MMIO_E_REG_OPERAND);       /* mov %ecx,%eax */
    assert_int_equal(dec(B(0xc7, 0xc0, 1, 0, 0, 0), MMIO_MODE64), MMIO_E_REG_OPERAND);
    /* Truncated anywhere: prefix only, ModRM, SIB, displacement, immediate, moffs. */
    assert_int_equal(dec(B(0x66), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0x8b), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0x8b, 0x04), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0x8b, 0x80, 0x00, 0x03), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0xc7, 0x00, 0x01, 0x02), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0xa1, 0x30, 0x00, 0xe0, 0xfe), MMIO_MODE64), MMIO_E_TRUNCATED);
    assert_int_equal(dec(B(0x00, 0x00), MMIO_MODE64), MMIO_E_OPCODE);                /* add */
    assert_int_equal(mmio_decode(NULL, 0, MMIO_MODE64, &op), MMIO_E_TRUNCATED);
    /* Fifteen bytes is the limit: 14 prefixes + opcode + ModRM is 16. */
    uint8_t longer[20];
    memset(longer, 0x3e, sizeof(longer));
    longer[14] = 0x8b;
    longer[15] = 0x00;
    assert_int_equal(mmio_decode(longer, 20, MMIO_MODE64, &op), MMIO_E_TOO_LONG);
    longer[13] = 0x8b;
    longer[14] = 0x00;
    assert_int_equal(mmio_decode(longer, 20, MMIO_MODE64, &op), MMIO_OK);
    assert_int_equal(op.len, 15);
    /* Every error has a message. */
    for (int e = MMIO_OK; e <= MMIO_E_REG_OPERAND; e++)
        assert_true(strlen(mmio_error_str((enum mmio_error)e)) > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_and_stores_64),
        cmocka_unit_test(modrm_sib_forms),
        cmocka_unit_test(immediates),
        cmocka_unit_test(moffs),
        cmocka_unit_test(prefixes),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

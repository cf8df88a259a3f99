/* nested/vmx_operand.c: VMX instruction operands from the VM-exit
 * instruction-information field (SDM Vol. 3, 28.2.5). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmx_operand.h"

/* Builds an instruction-information value. */
static uint32_t info(unsigned scale, unsigned reg1, unsigned asz, bool reg, unsigned seg,
                     int index, int base, unsigned reg2)
{
    return scale | (reg1 << 3) | (asz << 7) | (reg ? BIT(10) : 0) | (seg << 15) |
           (index < 0 ? BIT(22) : (unsigned)index << 18) |
           (base < 0 ? BIT(27) : (unsigned)base << 23) | (reg2 << 28);
}

static const uint64_t gpr[16] = {
    0x1000, 0x2000, 0x3000, 0x4000, 0x7fff0000, 0x6000, 0x7000, 0x8000,
    0xffffffff00000010ull, 0x9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xfffffffffffffff0ull,
};

static void every_field_decodes(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    vmx_insn_info_decode(info(3, 11, ADDR64, false, SEG_GS, 14, 9, 15), &ii);
    assert_int_equal(ii.scale, 3);
    assert_int_equal(ii.reg1, 11);
    assert_int_equal(ii.addr_size, ADDR64);
    assert_false(ii.is_reg);
    assert_int_equal(ii.seg, SEG_GS);
    assert_int_equal(ii.index, 14);
    assert_true(ii.index_valid);
    assert_int_equal(ii.base, 9);
    assert_true(ii.base_valid);
    assert_int_equal(ii.reg2, 15);
    vmx_insn_info_decode(info(0, 0, ADDR32, true, SEG_ES, -1, -1, 0), &ii);
    assert_true(ii.is_reg);
    assert_false(ii.index_valid);
    assert_false(ii.base_valid);
    assert_int_equal(ii.addr_size, ADDR32);
    assert_int_equal(ii.reg2, 0);
    /* Undefined bits (2, 14:11) are ignored. */
    vmx_insn_info_decode(info(1, 2, ADDR16, false, SEG_SS, 1, 2, 3) | BIT(2) | (0xf << 11), &ii);
    assert_int_equal(ii.scale, 1);
    assert_int_equal(ii.reg1, 2);
    assert_int_equal(ii.seg, SEG_SS);
    assert_int_equal(ii.addr_size, ADDR16);
    assert_int_equal(ii.reg2, 3);
    /* A real one: vmread %rax,(%rbx,%rcx,8) in 64-bit mode, DS. */
    vmx_insn_info_decode(0x01858103u, &ii);
    assert_int_equal(ii.scale, 3);
    assert_int_equal(ii.addr_size, ADDR64);
    assert_false(ii.is_reg);
    assert_int_equal(ii.seg, SEG_DS);
    assert_int_equal(ii.index, 1);
    assert_true(ii.index_valid);
    assert_int_equal(ii.base, 3);
    assert_true(ii.base_valid);
    assert_int_equal(ii.reg2, 0);
}

static void effective_address_sums_base_index_scale_disp(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    vmx_insn_info_decode(info(3, 0, ADDR64, false, SEG_DS, 1, 0, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 0x10, gpr), 0x1000 + 0x2000 * 8 + 0x10);
    /* Negative displacements are sign-extended in the qualification. */
    assert_int_equal(vmx_operand_ea(&ii, (uint64_t)-0x20, gpr), 0x1000 + 0x2000 * 8 - 0x20);
    /* RSP as base (the slot is RSP from the VMCS in the hv). */
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_SS, -1, 4, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 8, gpr), 0x7fff0008);
    /* No base, no index: RIP-relative (the qualification is the address). */
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_DS, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 0x401234, gpr), 0x401234);
    /* r15 index wraps in 64 bits. */
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_DS, 15, 0, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 0, gpr), 0x1000 - 0x10);
}

static void effective_address_wraps_to_the_address_size(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    vmx_insn_info_decode(info(0, 0, ADDR32, false, SEG_DS, -1, 8, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 0xfffffff8, gpr), 0x8);
    vmx_insn_info_decode(info(2, 0, ADDR16, false, SEG_DS, 0, 5, 0), &ii);
    assert_int_equal(vmx_operand_ea(&ii, 0xfff0, gpr), (0x6000 + 0x4000 + 0xfff0) & 0xffff);
}

static void long_mode_needs_canonical_addresses(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    struct vmx_seg seg = { .base = 0x123000, .limit = 0, .ar = BIT(16) };
    uint64_t gla = 0;
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_DS, -1, -1, 0), &ii);
    /* DS base and limit do not apply in 64-bit mode. */
    assert_int_equal(vmx_operand_linear(&ii, 0x5000, 8, false, true, &seg, &gla), 0);
    assert_int_equal(gla, 0x5000);
    assert_int_equal(vmx_operand_linear(&ii, 0x00007ffffffffff8ull, 8, true, true, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0x00007ffffffffffcull, 8, false, true, &seg, &gla), 13);
    assert_int_equal(vmx_operand_linear(&ii, 0x0000800000000000ull, 8, false, true, &seg, &gla), 13);
    assert_int_equal(vmx_operand_linear(&ii, 0xffff800000000000ull, 16, false, true, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0x8000000000000000ull, 8, false, true, &seg, &gla), 13);
    /* The stack segment gives #SS. */
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_SS, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_linear(&ii, 0x0000800000000000ull, 8, false, true, &seg, &gla), 12);
    /* FS and GS bases do apply. */
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_FS, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_linear(&ii, 0x10, 8, false, true, &seg, &gla), 0);
    assert_int_equal(gla, 0x123010);
    seg.base = 0x00007ffffffffff0ull;
    vmx_insn_info_decode(info(0, 0, ADDR64, false, SEG_GS, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_linear(&ii, 0x10, 8, false, true, &seg, &gla), 13);
}

#define AR_DATA_RW   0xc093
#define AR_DATA_RO   0xc091
#define AR_CODE_RX   0xc09b
#define AR_CODE_X    0xc099
#define AR_DATA_DOWN 0xc097     /* expand-down, writable, D/B=1 */

static void protected_mode_checks_limits_and_rights(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    struct vmx_seg seg = { .base = 0x10000, .limit = 0xfff, .ar = AR_DATA_RW };
    uint64_t gla = 0;
    vmx_insn_info_decode(info(0, 0, ADDR32, false, SEG_DS, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_linear(&ii, 0xff8, 8, true, false, &seg, &gla), 0);
    assert_int_equal(gla, 0x10ff8);
    assert_int_equal(vmx_operand_linear(&ii, 0xffc, 8, false, false, &seg, &gla), 13);
    assert_int_equal(vmx_operand_linear(&ii, 0x1000, 4, false, false, &seg, &gla), 13);
    /* The base wraps at 4 GiB. */
    seg = (struct vmx_seg){ .base = 0xfffff000, .limit = 0xffffffff, .ar = AR_DATA_RW };
    assert_int_equal(vmx_operand_linear(&ii, 0x2000, 8, false, false, &seg, &gla), 0);
    assert_int_equal(gla, 0x1000);
    assert_int_equal(vmx_operand_linear(&ii, 0xfffffffc, 8, false, false, &seg, &gla), 13);
    /* Rights. */
    seg = (struct vmx_seg){ .base = 0, .limit = 0xffffffff, .ar = AR_DATA_RO };
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, false, false, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, true, false, &seg, &gla), 13);
    seg.ar = AR_CODE_RX;
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, false, false, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, true, false, &seg, &gla), 13);
    seg.ar = AR_CODE_X;
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, false, false, &seg, &gla), 13);
    seg.ar = AR_DATA_RW | BIT(16);
    assert_int_equal(vmx_operand_linear(&ii, 0x100, 8, false, false, &seg, &gla), 13);
    /* SS: #SS for limits and unusable. */
    vmx_insn_info_decode(info(0, 0, ADDR32, false, SEG_SS, -1, -1, 0), &ii);
    seg = (struct vmx_seg){ .base = 0, .limit = 0xfff, .ar = AR_DATA_RW };
    assert_int_equal(vmx_operand_linear(&ii, 0xffc, 8, true, false, &seg, &gla), 12);
    seg.ar |= BIT(16);
    assert_int_equal(vmx_operand_linear(&ii, 0x0, 8, true, false, &seg, &gla), 12);
}

static void expand_down_segments(void **state)
{
    (void)state;
    struct vmx_insn_info ii;
    struct vmx_seg seg = { .base = 0, .limit = 0xfff, .ar = AR_DATA_DOWN };
    uint64_t gla = 0;
    vmx_insn_info_decode(info(0, 0, ADDR32, false, SEG_ES, -1, -1, 0), &ii);
    assert_int_equal(vmx_operand_linear(&ii, 0x1000, 8, true, false, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0xfff, 8, true, false, &seg, &gla), 13);
    assert_int_equal(vmx_operand_linear(&ii, 0xfffffff8, 8, true, false, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0xfffffffc, 8, true, false, &seg, &gla), 13);
    seg.ar &= ~BIT(14);     /* 16-bit upper bound */
    assert_int_equal(vmx_operand_linear(&ii, 0xfff8, 8, true, false, &seg, &gla), 0);
    assert_int_equal(vmx_operand_linear(&ii, 0xfffc, 8, true, false, &seg, &gla), 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_decodes),
        cmocka_unit_test(effective_address_sums_base_index_scale_disp),
        cmocka_unit_test(effective_address_wraps_to_the_address_size),
        cmocka_unit_test(long_mode_needs_canonical_addresses),
        cmocka_unit_test(protected_mode_checks_limits_and_rights),
        cmocka_unit_test(expand_down_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

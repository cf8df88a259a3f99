/* Decoding VMX instruction operands.  Pure. */
#include "vmx_operand.h"

void vmx_insn_info_decode(uint32_t info, struct vmx_insn_info *ii)
{
    ii->scale = info & 3;
    ii->reg1 = (info >> 3) & 0xf;
    ii->addr_size = (info >> 7) & 7;
    ii->is_reg = info & BIT(10);
    ii->seg = (info >> 15) & 7;
    ii->index = (info >> 18) & 0xf;
    ii->index_valid = !(info & BIT(22));
    ii->base = (info >> 23) & 0xf;
    ii->base_valid = !(info & BIT(27));
    ii->reg2 = (info >> 28) & 0xf;
}

static uint64_t addr_mask(unsigned addr_size)
{
    switch (addr_size) {
    case ADDR16: return 0xffff;
    case ADDR32: return 0xffffffff;
    default:     return ~0ull;
    }
}

uint64_t vmx_operand_ea(const struct vmx_insn_info *ii, uint64_t disp, const uint64_t gpr[16])
{
    uint64_t ea = disp;
    if (ii->base_valid)
        ea += gpr[ii->base];
    if (ii->index_valid)
        ea += gpr[ii->index] << ii->scale;
    return ea & addr_mask(ii->addr_size);
}

#define AR_TYPE(ar)     ((ar) & 0xf)
#define AR_CODE         BIT(3)
#define AR_RW           BIT(1)      /* readable code / writable data */
#define AR_EXPAND_DOWN  BIT(2)      /* data segments */
#define AR_DB           BIT(14)
#define AR_UNUSABLE     BIT(16)

int vmx_operand_linear(const struct vmx_insn_info *ii, uint64_t ea, unsigned size, bool write,
                       bool long64, const struct vmx_seg *seg, uint64_t *gla)
{
    int fault = ii->seg == SEG_SS ? 12 : 13;
    if (long64) {
        uint64_t base = (ii->seg == SEG_FS || ii->seg == SEG_GS) ? seg->base : 0;
        uint64_t a = base + ea;
        if (!is_canonical48(a) || !is_canonical48(a + size - 1))
            return fault;
        *gla = a;
        return 0;
    }
    if (seg->ar & AR_UNUSABLE)
        return fault;
    unsigned type = AR_TYPE(seg->ar);
    if (write && ((type & AR_CODE) || !(type & AR_RW)))
        return 13;
    if (!write && (type & AR_CODE) && !(type & AR_RW))
        return 13;
    uint64_t last = ea + size - 1;
    if (!(type & AR_CODE) && (type & AR_EXPAND_DOWN)) {
        /* Valid offsets are limit+1 .. 0xffff (or 0xffffffff with D/B). */
        uint64_t upper = (seg->ar & AR_DB) ? 0xffffffffull : 0xffffull;
        if (ea <= seg->limit || last > upper || last < ea)
            return fault;
    } else if (last > seg->limit || last < ea) {
        return fault;
    }
    *gla = (seg->base + ea) & 0xffffffffull;
    return 0;
}

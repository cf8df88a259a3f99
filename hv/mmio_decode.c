/* MOV decoding for MMIO emulation (SDM Vol. 2, chapter 2: instruction
 * format; MOV in chapter 4).  See mmio_decode.h for the forms handled. */
#include "mmio_decode.h"

const char *mmio_error_str(enum mmio_error e)
{
    switch (e) {
    case MMIO_OK:            return "ok";
    case MMIO_E_TRUNCATED:   return "instruction bytes not readable";
    case MMIO_E_TOO_LONG:    return "instruction longer than 15 bytes";
    case MMIO_E_PREFIX:      return "LOCK or REP prefix";
    case MMIO_E_OPCODE:      return "instruction not emulated (only MOV 8B/89/C7/A1/A3)";
    case MMIO_E_REG_OPERAND: return "register operand";
    }
    return "?";
}

/* A cursor over the instruction bytes that notices running off the end. */
struct cursor {
    const uint8_t *b;
    unsigned n, pos;
    bool short_read;
};

static uint8_t next(struct cursor *c)
{
    if (c->pos >= c->n) {
        c->short_read = true;
        c->pos++;
        return 0;
    }
    return c->b[c->pos++];
}

static uint64_t next_le(struct cursor *c, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)next(c) << (8 * i);
    return v;
}

/* Skips ModRM's memory operand after the ModRM byte: SIB and displacement
 * (SDM Tables 2-1 to 2-3).  False for a register operand (mod = 3). */
static bool skip_modrm_mem(struct cursor *c, uint8_t modrm, unsigned addr_size)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3)
        return false;
    if (addr_size == 2) {
        /* 16-bit: no SIB; [disp16] when mod 0 and r/m 110. */
        unsigned disp = mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
        c->pos += disp;
        return true;
    }
    unsigned disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        uint8_t sib = next(c);
        if (mod == 0 && (sib & 7) == 5)
            disp = 4;       /* no base: disp32 */
    } else if (mod == 0 && rm == 5) {
        disp = 4;           /* disp32, or RIP-relative in 64-bit mode */
    }
    c->pos += disp;
    return true;
}

enum mmio_error mmio_decode(const uint8_t *b, unsigned n, enum mmio_mode mode, struct mmio_op *op)
{
    struct cursor c = { b, MIN(n, (unsigned)MMIO_INSN_MAX + 1), 0, false };
    bool opsize = false, addrsize = false;
    uint8_t rex = 0, opc;

    memset(op, 0, sizeof(*op));
    op->seg = -1;
    /* Legacy prefixes in any order, then at most one REX right before the
     * opcode (a REX followed by a legacy prefix is ignored, SDM 2.2.1). */
    for (;;) {
        opc = next(&c);
        if (c.short_read)
            return c.pos > MMIO_INSN_MAX ? MMIO_E_TOO_LONG : MMIO_E_TRUNCATED;
        if (mode == MMIO_MODE64 && (opc & 0xf0) == 0x40) {
            rex = opc;
            continue;
        }
        int seg = -1;
        switch (opc) {
        case 0x66: opsize = true; break;
        case 0x67: addrsize = true; break;
        case 0x26: seg = 0; break;
        case 0x2e: seg = 1; break;
        case 0x36: seg = 2; break;
        case 0x3e: seg = 3; break;
        case 0x64: seg = 4; break;
        case 0x65: seg = 5; break;
        case 0xf0: case 0xf2: case 0xf3: return MMIO_E_PREFIX;
        default: goto opcode;
        }
        if (seg >= 0)
            op->seg = seg;
        rex = 0;
    }
opcode:;
    unsigned addr_size = mode == MMIO_MODE64 ? (addrsize ? 4 : 8) :
                         mode == MMIO_MODE32 ? (addrsize ? 2 : 4) : (addrsize ? 4 : 2);
    unsigned def_size = mode == MMIO_MODE16 ? 2 : 4;
    op->size = (rex & 8) ? 8 : opsize ? (def_size == 2 ? 4 : 2) : def_size;

    switch (opc) {
    case 0x8b: case 0x89: case 0xc7: {
        uint8_t modrm = next(&c);
        if (opc == 0xc7 && ((modrm >> 3) & 7) != 0)
            return c.short_read ? MMIO_E_TRUNCATED : MMIO_E_OPCODE;
        if (!c.short_read && !skip_modrm_mem(&c, modrm, addr_size))
            return MMIO_E_REG_OPERAND;
        op->write = opc != 0x8b;
        op->reg = ((modrm >> 3) & 7) | ((rex & 4) ? 8 : 0);
        if (opc == 0xc7) {
            op->has_imm = true;
            op->reg = 0;
            unsigned isz = op->size == 2 ? 2 : 4;
            uint64_t imm = next_le(&c, isz);
            /* imm32 is sign-extended to a 64-bit operand. */
            op->imm = op->size == 8 ? (uint64_t)(int64_t)(int32_t)imm : imm;
        }
        break;
    }
    case 0xa1: case 0xa3:
        op->write = opc == 0xa3;
        op->reg = 0;                    /* eAX/rAX */
        c.pos += addr_size;             /* the moffs is address-sized */
        break;
    default:
        return MMIO_E_OPCODE;
    }
    if (c.pos > MMIO_INSN_MAX)
        return MMIO_E_TOO_LONG;
    if (c.short_read || c.pos > n)
        return MMIO_E_TRUNCATED;
    op->len = c.pos;
    return MMIO_OK;
}

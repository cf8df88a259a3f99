/* Decoding of the instructions guests use for memory-mapped registers
 * (today: the local APIC page).  An EPT violation gives the guest-physical
 * address but not the instruction; this decoder supplies what emulation
 * needs: load or store, the register or immediate, the size and the
 * instruction's length.  The address itself is not computed (the exit
 * has it), but every ModRM/SIB/displacement form is parsed for the length.
 *
 * Handled: the MOV forms compilers emit for volatile accesses,
 *   8B /r   MOV r16/32/64, r/m     (load)
 *   89 /r   MOV r/m, r16/32/64     (store)
 *   C7 /0   MOV r/m, imm16/32      (store; imm32 sign-extended with REX.W)
 *   A1, A3  MOV eAX <-> moffs      (load, store)
 * with the operand-size (66), address-size (67), segment (26 2E 36 3E 64
 * 65) prefixes and REX in 64-bit mode.  Anything else (other opcodes, LOCK
 * or REP prefixes, a register operand, more than 15 bytes) is an error.
 * Pure; unit-tested (tests/unit/test_mmio_decode.c). */
#ifndef HV_MMIO_DECODE_H
#define HV_MMIO_DECODE_H

#include "lib.h"

#define MMIO_INSN_MAX   15

/* The code segment's default operand and address size. */
enum mmio_mode { MMIO_MODE16 = 2, MMIO_MODE32 = 4, MMIO_MODE64 = 8 };

enum mmio_error {
    MMIO_OK,
    MMIO_E_TRUNCATED,       /* the bytes end before the instruction does */
    MMIO_E_TOO_LONG,        /* more than 15 bytes */
    MMIO_E_PREFIX,          /* LOCK, REP/REPNE */
    MMIO_E_OPCODE,          /* not one of the MOV forms above */
    MMIO_E_REG_OPERAND,     /* ModRM names a register: no memory access */
};

struct mmio_op {
    bool write;             /* store to memory */
    bool has_imm;           /* store of `imm` (C7) rather than of `reg` */
    unsigned reg;           /* the general register (SDM numbering, 0-15) */
    uint64_t imm;
    unsigned size;          /* operand bytes: 2, 4 or 8 */
    unsigned len;           /* instruction bytes */
    int seg;                /* segment override prefix (0-5: ES CS SS DS FS GS), or -1 */
};

/* Decodes the instruction at b[0..n).  Returns MMIO_OK and *op, or the
 * reason it is not handled. */
enum mmio_error mmio_decode(const uint8_t *b, unsigned n, enum mmio_mode mode, struct mmio_op *op);
const char *mmio_error_str(enum mmio_error e);

#endif

/* Operands of the VMX instructions, from the VM-exit instruction-information
 * field and the exit qualification (SDM Vol. 3, 28.2.5: the tables for
 * INVEPT/INVPCID/INVVPID, VMCLEAR/VMPTRLD/VMPTRST/VMXON and VMREAD/VMWRITE
 * share one layout).  Pure; unit-tested. */
#ifndef NESTED_VMX_OPERAND_H
#define NESTED_VMX_OPERAND_H

#include "lib.h"

enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS };
enum { ADDR16 = 0, ADDR32 = 1, ADDR64 = 2 };

struct vmx_insn_info {
    unsigned scale;             /* bits 1:0: index multiplied by 1 << scale */
    unsigned reg1;              /* bits 6:3: VMREAD destination / VMWRITE source register */
    unsigned addr_size;         /* bits 9:7: ADDR16/32/64 */
    bool is_reg;                /* bit 10: register operand (VMREAD/VMWRITE only) */
    unsigned seg;               /* bits 17:15: SEG_* */
    unsigned index;             /* bits 21:18 */
    bool index_valid;           /* bit 22 clear */
    unsigned base;              /* bits 26:23 */
    bool base_valid;            /* bit 27 clear */
    unsigned reg2;              /* bits 31:28: the encoding (VMREAD/VMWRITE), the type (INVEPT/INVVPID) */
};

void vmx_insn_info_decode(uint32_t info, struct vmx_insn_info *ii);

/* The effective address (offset within the segment) of the memory
 * operand: base + index * scale + displacement, wrapped to the address
 * size.  `disp` is the exit qualification (already the absolute address
 * for RIP-relative operands, whose base and index are invalid); gpr[] holds
 * the 16 general registers by SDM number (RSP included). */
uint64_t vmx_operand_ea(const struct vmx_insn_info *ii, uint64_t disp, const uint64_t gpr[16]);

/* A segment as the VMCS holds it. */
struct vmx_seg {
    uint64_t base;
    uint32_t limit;             /* byte-granular */
    uint32_t ar;                /* access rights, bit 16 = unusable */
};

/* Segmentation of a `size`-byte access at `ea` (SDM 3.4, 5.3): in 64-bit
 * mode FS/GS bases apply and the linear address must be canonical; outside
 * it the segment must be usable, allow the access (no writes to code or
 * read-only data, no reads of execute-only code) and hold every byte.
 * Returns 0 with *gla, or the exception to raise: 13 (#GP(0)) or, for
 * the SS segment, 12 (#SS(0)). */
int vmx_operand_linear(const struct vmx_insn_info *ii, uint64_t ea, unsigned size, bool write,
                       bool long64, const struct vmx_seg *seg, uint64_t *gla);

#endif

/* vmcs12: the VMCS an L1 hypervisor builds, in Nestor's own layout.
 *
 * L1 sees a VMCS revision identifier of VMCS12_REVISION in IA32_VMX_BASIC
 * and a 4 KiB VMCS region.  The region it gives to VMPTRLD holds (all
 * little-endian):
 *
 *   offset  size  content
 *   0       4     bits 30:0 revision identifier, bit 31 shadow-VMCS indicator
 *   4       4     VMX-abort indicator
 *   8       4     launch state: 0 clear, 1 launched (any other value is
 *                 neither: VMLAUNCH and VMRESUME both fail on it)
 *   12      4     reserved, 0
 *   16      8*N   the fields: field i of vmcs12_fields[] (sorted by
 *                 encoding) at offset 16 + 8*i, zero-extended to 64 bits
 *
 * The table below is the layout: adding, removing or reordering a field
 * changes it, and must change VMCS12_REVISION.  Pure; unit-tested.
 */
#ifndef NESTED_VMCS12_H
#define NESTED_VMCS12_H

#include "lib.h"

#define VMCS12_REVISION         0x3153454eu     /* "NES1" in memory */
#define VMCS12_SHADOW_INDICATOR BIT(31)
#define VMCS12_REGION_SIZE      4096u           /* reported in IA32_VMX_BASIC */

#define VMCS12_OFF_REVISION     0
#define VMCS12_OFF_ABORT        4
#define VMCS12_OFF_LAUNCH       8
#define VMCS12_OFF_FIELDS       16
#define VMCS12_NR_FIELDS        136
#define VMCS12_SIZE             (VMCS12_OFF_FIELDS + 8 * VMCS12_NR_FIELDS)

#define VMCS12_LAUNCH_CLEAR     0u
#define VMCS12_LAUNCH_LAUNCHED  1u

/* Field encodings (SDM Vol. 3, Appendix B / section 25.11.2). */
enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };
enum vmcs_type { VMCS_T_CONTROL = 0, VMCS_T_EXIT_INFO = 1, VMCS_T_GUEST = 2, VMCS_T_HOST = 3 };

static inline unsigned vmcs_enc_width(uint64_t e) { return (e >> 13) & 3; }
static inline unsigned vmcs_enc_type(uint64_t e) { return (e >> 10) & 3; }
static inline unsigned vmcs_enc_index(uint64_t e) { return (e >> 1) & 0x1ff; }
static inline bool vmcs_enc_high(uint64_t e) { return e & 1; }

/* Fields that exist only when L1 is offered the feature they belong to
 * (SDM Appendix B: "this field exists only on processors that support
 * the 1-setting of ..."). */
enum {
    VMCS12_F_VPID     = BIT(0),     /* enable VPID */
    VMCS12_F_EPT      = BIT(1),     /* enable EPT: EPTP, guest-physical address, PDPTEs */
    VMCS12_F_PML      = BIT(2),     /* enable PML: PML address and index */
    VMCS12_F_VMFUNC   = BIT(3),     /* enable VM functions: VM-function controls */
    VMCS12_F_SHADOW   = BIT(4),     /* VMCS shadowing: VMREAD/VMWRITE bitmaps */
    VMCS12_F_PLE      = BIT(5),     /* PAUSE-loop exiting: gap and window */
    VMCS12_F_PREEMPT  = BIT(6),     /* VMX-preemption timer: its value */
    VMCS12_F_ALL      = 0x7f,
};

struct vmcs12_field {
    uint16_t encoding;          /* full-access encoding (bit 0 clear) */
    uint8_t feature;            /* VMCS12_F_* needed, 0 = always present */
    const char *name;
};

extern const struct vmcs12_field vmcs12_fields[VMCS12_NR_FIELDS];

/* Where a field lives in the region: its position in the table. */
static inline unsigned vmcs12_offset(const struct vmcs12_field *f)
{
    return VMCS12_OFF_FIELDS + 8 * (unsigned)(f - vmcs12_fields);
}

/* VM-instruction error numbers VMREAD/VMWRITE can give (SDM 31.4). */
#define VMXERR_UNSUPPORTED_FIELD  12
#define VMXERR_READ_ONLY_FIELD    13

/* The field an encoding names for an L1 offered `features`, or NULL: no
 * such component (unknown encoding, bits 63:15 or bit 12 set, a feature
 * not offered).  High access (bit 0 set) finds the 64-bit field it halves;
 * high access to any other width is NULL. */
const struct vmcs12_field *vmcs12_lookup(uint64_t encoding, unsigned features);

/* VMREAD of `encoding`: 0 with *val (zero-extended; the high half of a
 * 64-bit field for a high access), or VMXERR_UNSUPPORTED_FIELD. */
int vmcs12_read(const uint8_t *vmcs, uint64_t encoding, unsigned features, uint64_t *val);
/* VMWRITE: stores val truncated to the field's width (a high access
 * replaces bits 63:32 with val's bits 31:0).  Exit-information fields are
 * written only when `exit_info_writable` (IA32_VMX_MISC bit 29).  Returns
 * 0, VMXERR_UNSUPPORTED_FIELD or VMXERR_READ_ONLY_FIELD. */
int vmcs12_write(uint8_t *vmcs, uint64_t encoding, unsigned features, uint64_t val,
                 bool exit_info_writable);

/* Direct access by the hv to a field it knows exists (no checks beyond
 * the table; unknown encodings read 0 and are not written). */
uint64_t vmcs12_get(const uint8_t *vmcs, uint32_t encoding);
void vmcs12_set(uint8_t *vmcs, uint32_t encoding, uint64_t val);

/* Header words (inline: VMLAUNCH/VMRESUME read them on every entry). */
static inline uint32_t vmcs12_header(const uint8_t *vmcs, unsigned off)
{
    uint32_t v;
    __builtin_memcpy(&v, vmcs + off, sizeof(v));
    return v;
}
static inline void vmcs12_set_header(uint8_t *vmcs, unsigned off, uint32_t val)
{
    __builtin_memcpy(vmcs + off, &val, sizeof(val));
}

/* The highest index (encoding bits 9:1) of any field present for
 * `features`: IA32_VMX_VMCS_ENUM reports it in bits 9:1. */
unsigned vmcs12_max_index(unsigned features);

#endif

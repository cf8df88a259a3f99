/* The hot fields: what every L2 exit reflected to L1 and every emulated
 * VM entry copy between vmcs02, vmcs12 and the shadow VMCS.  Inline and
 * straight-line (constant encodings and vmcs12 offsets, two or three
 * instructions a field): these copies are most of L0's work for an L2
 * exit that L1 handles (docs/NESTED.md, "Exit amplification").  Only for
 * nested/'s entry and exit paths. */
#ifndef NESTED_VMCS02_HOT_H
#define NESTED_VMCS02_HOT_H

#include "nested_internal.h"
#include "domain.h"
#include "vmcs.h"
#include "vmx.h"
#include "x86.h"

/* The hot field lists as X-macros, so that the copies every L2 exit and
 * entry make are straight-line code with constant encodings and vmcs12
 * offsets (two instructions a field) rather than loops over tables:
 *   HOT_GUEST_COPIED  guest fields copied verbatim between vmcs12 and vmcs02;
 *   HOT_DERIVED       the other hot fields L1 writes (vmcs02 derives its
 *                     CR0/CR4 views from them, takes the event injection,
 *                     arms L1's timer from it);
 *   EXIT_INFO_COPIED  the exit information taken from vmcs02 at a
 *                     reflected exit (the reason is written apart). */
#define HOT_GUEST_COPIED(X) \
    X(VMCS_GUEST_RIP) X(VMCS_GUEST_RSP) X(VMCS_GUEST_RFLAGS) X(VMCS_GUEST_CR3) \
    X(VMCS_GUEST_INTERRUPTIBILITY) X(VMCS_GUEST_ACTIVITY_STATE) X(VMCS_GUEST_PENDING_DBG)
#define HOT_DERIVED(X) \
    X(VMCS_GUEST_CR0) X(VMCS_GUEST_CR4) X(VMCS_CR0_READ_SHADOW) X(VMCS_CR4_READ_SHADOW) \
    X(VMCS_ENTRY_INTR_INFO) X(VMCS_ENTRY_EXCEPTION_ERROR) X(VMCS_ENTRY_INSTR_LEN) \
    X(VMCS_PREEMPTION_TIMER)
#define EXIT_INFO_COPIED(X) \
    X(VMCS_EXIT_QUALIFICATION) X(VMCS_GUEST_LINEAR_ADDR) X(VMCS_GUEST_PHYSICAL_ADDR) \
    X(VMCS_EXIT_INTR_INFO) X(VMCS_EXIT_INTR_ERROR) X(VMCS_IDT_VECTORING_INFO) \
    X(VMCS_IDT_VECTORING_ERROR) X(VMCS_EXIT_INSTR_LEN) X(VMCS_EXIT_INSTR_INFO)
/* The items, for a local `uint8_t *v12`: current VMCS → vmcs12, back, and
 * the encoding (array initializers). */
#define V12_GET(enc) vmread_to(enc, &V12(v12, enc));
#define V12_PUT(enc) vmwrite(enc, V12(v12, enc));
#define ENC_ITEM(enc) enc,

/* ---- CR0 / CR4: L1's view of L2's registers is vmcs12's guest field ---- */

static inline uint64_t cr0_fixed0_l2(const struct vcpu_nested *n)
{
    uint64_t f = vmx_caps.cr0_fixed0;
    if (vmcs12_proc2(n) & PROC2_UNRESTRICTED_GUEST)
        f &= ~(uint64_t)(CR0_PE | CR0_PG);
    return f;
}

/* vmcs02's CR0/CR4 and read shadows from vmcs12 (vmcs02 current). */
static inline void vmcs02_put_crs(const struct vcpu_nested *n)
{
    const uint8_t *v12 = n->vmcs12;
    uint64_t cr0 = V12(v12, VMCS_GUEST_CR0), mask0 = V12(v12, VMCS_CR0_GUEST_HOST_MASK);
    vmwrite(VMCS_GUEST_CR0, (cr0 | cr0_fixed0_l2(n)) & vmx_caps.cr0_fixed1);
    /* L1's bits read L1's shadow; L0's own bits read L1's view of L2. */
    vmwrite(VMCS_CR0_READ_SHADOW, (V12(v12, VMCS_CR0_READ_SHADOW) & mask0) | (cr0 & ~mask0));
    uint64_t cr4 = V12(v12, VMCS_GUEST_CR4), mask4 = V12(v12, VMCS_CR4_GUEST_HOST_MASK);
    vmwrite(VMCS_GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    vmwrite(VMCS_CR4_READ_SHADOW, (V12(v12, VMCS_CR4_READ_SHADOW) & mask4) | (cr4 & ~mask4));
}

/* L1's view of L2's CR0 (cr 0) or CR4 (cr 4) from vmcs02: the real
 * register, except for bits only L0 traps, whose L2 value is in vmcs02's
 * read shadow. */
static inline uint64_t vmcs02_l2_cr(const struct vcpu_nested *n, unsigned cr)
{
    uint64_t l0_only = cr == 0 ? HV_CR0_OWNED & ~V12(n->vmcs12, VMCS_CR0_GUEST_HOST_MASK)
                               : HV_CR4_OWNED & ~V12(n->vmcs12, VMCS_CR4_GUEST_HOST_MASK);
    uint64_t real = vmread(cr == 0 ? VMCS_GUEST_CR0 : VMCS_GUEST_CR4);
    uint64_t shadow = vmread(cr == 0 ? VMCS_CR0_READ_SHADOW : VMCS_CR4_READ_SHADOW);
    return (real & ~l0_only) | (shadow & l0_only);
}

/* ---- vmcs12 → vmcs02 at every VM entry (vmcs02 current) ---- */

static inline void vmcs02_put_hot(struct vcpu_nested *n)
{
    uint8_t *v12 = n->vmcs12;
    HOT_GUEST_COPIED(V12_PUT)
    vmcs02_put_crs(n);
    V12_PUT(VMCS_ENTRY_INTR_INFO)
    V12_PUT(VMCS_ENTRY_EXCEPTION_ERROR)
    V12_PUT(VMCS_ENTRY_INSTR_LEN)
}

/* ---- vmcs02 → vmcs12 at every exit reflected to L1 (SDM 28.2, 28.3) ---- */

/* The exit-information fields from vmcs02's, and the exit reason. */
static inline void vmcs02_get_exit_info(struct vcpu_nested *n, uint32_t reason)
{
    uint8_t *v12 = n->vmcs12;
    EXIT_INFO_COPIED(V12_GET)
    V12(v12, VMCS_EXIT_REASON) = reason;
}

/* L2's hot guest state; the rare part is saved lazily (guest_stale). */
static inline void vmcs02_get_hot(struct vcpu_nested *n)
{
    uint8_t *v12 = n->vmcs12;
    HOT_GUEST_COPIED(V12_GET)
    V12(v12, VMCS_GUEST_CR0) = vmcs02_l2_cr(n, 0);
    V12(v12, VMCS_GUEST_CR4) = vmcs02_l2_cr(n, 4);
    /* 28.3: the entry's event injection is consumed (valid bit cleared). */
    V12(v12, VMCS_ENTRY_INTR_INFO) &= ~(uint64_t)INTR_INFO_VALID;
    /* "Save VMX-preemption timer value": what is left of L1's timer. */
    if (V12(v12, VMCS_EXIT_CONTROLS) & EXIT_SAVE_PREEMPTION_TIMER)
        V12(v12, VMCS_PREEMPTION_TIMER) = n->timer12_left;
    n->guest_stale = true;
}

/* ---- the shadow VMCS ---- */

/* Before an emulated VM entry: L1's writes through the shadow (the
 * read-write hot fields) → vmcs12.  v's own VMCS (vmcs01) current again
 * after. */
static inline void shadow_hot_to_vmcs12(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint8_t *v12 = n->vmcs12;
    if (unlikely(!shadow_all_fields)) {
        shadow_to_vmcs12(v, false);
        return;
    }
    vmptrld(n->shadow_pa);
    HOT_GUEST_COPIED(V12_GET)
    HOT_DERIVED(V12_GET)
    vmptrld(v->vmcs_pa);
}

/* After an exit reflected to L1, before the switch to vmcs01 (which the
 * caller makes: the shadow VMCS, or v's VMCS, is left current): the
 * shadow takes what the exit changed in vmcs12: L2's hot guest state, the
 * event injection (consumed), L1's timer when the exit saves it, and the
 * exit reason and information.  The other shadowed fields already hold
 * what L1 last wrote there: vmcs12 took them from the shadow at the VM
 * entry and nothing changes them while L2 runs (a VM exit leaves the
 * VM-instruction error, the read shadows and the injection's error code
 * and length alone). */
static inline void shadow_after_exit(struct vcpu *v)
{
    struct vcpu_nested *n = &v->nested;
    uint8_t *v12 = n->vmcs12;
    if (unlikely(!shadow_all_fields)) {
        shadow_from_vmcs12(v);
        return;
    }
    vmptrld(n->shadow_pa);
    HOT_GUEST_COPIED(V12_PUT)
    V12_PUT(VMCS_GUEST_CR0)
    V12_PUT(VMCS_GUEST_CR4)
    V12_PUT(VMCS_ENTRY_INTR_INFO)
    if (V12(v12, VMCS_EXIT_CONTROLS) & EXIT_SAVE_PREEMPTION_TIMER)
        V12_PUT(VMCS_PREEMPTION_TIMER)
    V12_PUT(VMCS_EXIT_REASON)
    EXIT_INFO_COPIED(V12_PUT)
}

#endif

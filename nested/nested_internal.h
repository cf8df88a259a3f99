/* Shared by the files of nested/ (not for hv/). */
#ifndef NESTED_INTERNAL_H
#define NESTED_INTERNAL_H

#include "nested.h"
#include "nested_caps.h"
#include "vmcs12_index.h"
#include "vmcs_fields.h"

/* The capability MSRs L1 sees, computed from the CPU on first use
 * (inline: VM entries consult them). */
extern struct nested_caps nested_caps_cache;
extern bool nested_caps_ready;
const struct nested_caps *nested_caps_first(void);
static inline const struct nested_caps *nested_caps_get(void)
{
    return likely(nested_caps_ready) ? &nested_caps_cache : nested_caps_first();
}

/* CR0 bits that are fixed while L1 is in VMX operation and that the hv
 * traps through the CR0 guest/host mask only then (NE is always trapped). */
#define NESTED_CR0_VMX_TRAPPED (CR0_PE | CR0_PG)

/* Entering / leaving emulated VMX operation: CR0 trapping. */
void nested_cr0_trap(struct vcpu *v, bool on);

/* VMX instruction results (SDM 31.2), on the current vmcs12 and RFLAGS
 * of vmcs01 (vmx_emul.c). */
void nested_vm_fail_valid(struct vcpu *v, uint32_t err);

/* vmcs12 rare fields changed (VMWRITE that exited, new vmcs12): vmcs02
 * and the host-state plan must be prepared again. */
static inline void nested_mark_rare(struct vcpu_nested *n)
{
    n->rare_dirty = true;
    n->host_plan_ok = false;
}

/* ---- field lists (vmcs02.c) ---- */

/* A list of fields copied between vmcs12 and the current VMCS in a loop,
 * with their vmcs12 offsets computed once (the copies run on every L2
 * exit and entry). */
#define VMCS12_LIST_MAX 48
struct vmcs12_list {
    const uint16_t *enc;
    unsigned n;
    bool ready;
    uint16_t off[VMCS12_LIST_MAX];
};
#define VMCS12_LIST(arr) { (arr), ARRAY_SIZE(arr), false, { 0 } }
/* vmcs12 → current VMCS, and back. */
void vmcs12_list_put(struct vmcs12_list *l, const uint8_t *vmcs12);
void vmcs12_list_get(struct vmcs12_list *l, uint8_t *vmcs12);

/* ---- vmcs02 (vmcs02.c) ---- */

/* L1's current values that L2 inherits when vmcs12 does not load its own
 * (read from vmcs01 before the switch). */
struct l1_regs {
    uint64_t efer, pat, dr7, debugctl;
};
/* Hot fields: copied at every entry and saved at every reflected exit
 * (the copies are inline, in vmcs02_hot.h).  Everything else is rare
 * (docs/NESTED.md, "vmcs02"). */
bool vmcs02_field_is_hot(uint32_t enc);
/* The hot fields L1 writes (what VMCS shadowing lets L1 write without an
 * exit); the hot fields L1 only reads are the exit information. */
extern const uint16_t vmcs02_hot_inputs[];
extern const unsigned vmcs02_nr_hot_inputs;
/* vmcs12's secondary controls, which count only when activated. */
static inline uint32_t vmcs12_proc2(const struct vcpu_nested *n)
{
    return (V12(n->vmcs12, VMCS_PROC_CONTROLS) & PROC_ACTIVATE_SECONDARY) ?
           (uint32_t)V12(n->vmcs12, VMCS_PROC_CONTROLS2) : 0;
}
/* vmcs02 current: */
void vmcs02_put_rare(struct vcpu *v, const struct l1_regs *l1);
/* vmcs02's TSC offset: L0's for L1 plus vmcs12's when L1 offsets. */
uint64_t vmcs02_tsc_offset(const struct vcpu *v);
void vmcs02_get_rare(struct vcpu *v);

/* ---- entry and exit (nested_entry.c, nested_exit.c) ---- */

/* VMLAUNCH/VMRESUME after the instruction-level checks passed. */
void nested_vm_entry(struct vcpu *v, bool launch);
/* Makes vmcs12's guest state exact (vmcs02 holds the newest after an exit
 * that was reflected); called before L1's VMREAD/VMWRITE of a guest field
 * and before vmcs12 goes back to memory. */
void nested_sync_guest(struct vcpu *v);
/* The current vmcs12 stops being current (VMCLEAR, VMPTRLD, VMXOFF):
 * everything newer than the cache (shadow VMCS, vmcs02) goes into it. */
void nested_vmcs12_release(struct vcpu *v);
/* Before an emulated VMREAD/VMWRITE of `enc`: the cache is made exact for
 * it.  After a VMWRITE: the copies of the field (vmcs02, shadow) follow. */
void nested_vmcs12_sync(struct vcpu *v, uint64_t enc);
void nested_vmcs12_written(struct vcpu *v, uint32_t enc);
/* A VM exit to L1 for an L2 event or an entry failure: exit information
 * is already in vmcs12; saves L2's state, switches to vmcs01 and loads
 * vmcs12's host state into L1 (SDM 28.5). */
void nested_leave_l2(struct vcpu *v);
/* vmcs02 → vmcs01: L1 runs again (vmcs02 keeps its launch state). */
void nested_switch_to_l1(struct vcpu *v);
/* SDM 27.8: an entry that fails on guest state or MSR loading is a VM
 * exit to L1 with only the exit reason (bit 31 set) and qualification;
 * the launch state does not change.  vmcs01 current. */
void nested_entry_failure_exit(struct vcpu *v, uint32_t full_reason, uint64_t qual);
void nested_load_host_state(struct vcpu *v);
/* L0 emulating an instruction for L2 (vmcs02 current) raises exception
 * `vector`: delivered to L2, or an exit to L1 when vmcs12's exception
 * bitmap (and #PF error-code mask/match) asks for it (SDM 26.2; cr2 is
 * the #PF address: CR2 for L2, the qualification for L1). */
void nested_l2_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error,
                         uint64_t cr2);
/* ... or its memory access faults in EPT12: the EPT violation (48),
 * misconfiguration (49) or PML-full exit (62) to L1, with the
 * qualification, the linear and L2 guest-physical addresses. */
void nested_l2_access_fault(struct vcpu *v, unsigned reason, uint64_t qual, uint64_t gla,
                            uint64_t gpa2);
/* The field encoding of the exiting VMREAD/VMWRITE (its register
 * operand, 32 bits outside 64-bit mode). */
uint64_t nested_vmx_field_encoding(struct vcpu *v);
/* L2's VMREAD/VMWRITE of `enc` that vmcs12's VMCS shadowing lets through
 * (nested_vmcs_field_exits said so), performed by L0 on the shadow VMCS
 * vmcs12's link pointer names, with the SDM's non-root rules (CPL,
 * VMfailInvalid/Valid, faults of a memory operand). */
void nested_l2_vmcs_field(struct vcpu *v, bool write, uint64_t enc);

/* ---- MSRs (msr_lists.c) ---- */

/* RDMSR/WRMSR semantics at CPL 0 for the current VMCS's guest: false
 * for #GP. */
bool nested_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *val);
/* The VM-entry MSR-load list (vmcs02 current): 0, or the 1-based number
 * of the entry that failed. */
unsigned nested_entry_msr_load(struct vcpu *v);
/* The VM-exit lists; false after a VMX abort (the domain is ended). */
bool nested_exit_msr_store(struct vcpu *v);
bool nested_exit_msr_load(struct vcpu *v);

/* ---- EPT02 (ept02.c) ---- */

/* The EPTP vmcs02 uses for the current vmcs12: EPT02 for its EPTP12, or
 * the domain's EPT01 when vmcs12 does not enable EPT.  0: out of memory. */
uint64_t ept02_eptp(struct vcpu *v);
/* An EPT violation of L2 (vmcs02 current): 0 if L0 handled it (filled
 * EPT02), else the exit reason to reflect to L1 (48 EPT violation, 49
 * misconfiguration) with its exit qualification in *qual. */
unsigned ept02_violation(struct vcpu *v, uint64_t *qual);
/* An access L0 makes to L2 memory while emulating an L2 instruction at
 * a guest-linear address: L2 guest-physical gpa2, a paging-structure
 * access (!final) or the operand itself (final), translated through
 * EPT12 as the CPU would (A/D flags, nested PML).  0 with *gpa1 (in L1
 * RAM); -1 when the instruction should be retried; else the exit reason
 * for L1 (48, 49, 62) with its qualification in *qual. */
/* What is left of L1's VMX-preemption timer for L2 now (its end is a TSC
 * time; nested_exit.c). */
uint32_t nested_timer12_now(struct vcpu *v);
int ept02_l2_access(struct vcpu *v, uint64_t gpa2, bool write, bool final, uint64_t *gpa1,
                    uint64_t *qual);
/* L1's INVEPT: single-context (one EPTP12) or all-context. */
void ept02_invept(struct vcpu *v, uint64_t type, uint64_t eptp12);

/* ---- VMCS shadowing (shadow.c) ---- */

/* Whether the domain uses hardware VMCS shadowing for L1. */
bool shadow_enabled(const struct vcpu *v);
/* Turns shadowing on in vmcs01 for the current vmcs12 (copying its hot
 * fields into the shadow VMCS) or off when there is none. vmcs01 current. */
void shadow_attach(struct vcpu *v);
/* L1's shadowed VMWRITEs → vmcs12 (before vmcs12 is used or released);
 * the exit-information fields too with `exit_info`. */
void shadow_to_vmcs12(struct vcpu *v, bool exit_info);
/* vmcs12's shadowed fields → the shadow VMCS (after L0 changed them). */
void shadow_from_vmcs12(struct vcpu *v);
/* One field into the shadow VMCS (after L0 changed it in vmcs12). */
void shadow_put(struct vcpu *v, uint32_t enc, uint64_t val);
/* Is this field shadowed (VMREAD/VMWRITE by L1 do not exit)? */
bool shadow_field(uint32_t enc);
/* Every hot field exists for L1 and can be shadowed (the straight-line
 * copies of vmcs02_hot.h apply; otherwise the lists of shadow.c). */
extern bool shadow_all_fields;

#endif

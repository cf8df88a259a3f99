/* Nested VMX: what hv/ calls.  A domain created with `nested=1` sees VT-x:
 * CPUID.1:ECX.VMX, IA32_FEATURE_CONTROL, the VMX capability MSRs, CR4.VMXE
 * and every VMX instruction, emulated per the SDM on a vmcs12 in its own
 * memory (see docs/NESTED.md).  For other domains the hooks change nothing
 * and the VMX instructions raise #UD, as on a CPU without VMX. */
#ifndef NESTED_H
#define NESTED_H

#include "lib.h"
#include "vmcs12.h"
#include "ept.h"

struct vcpu;
struct domain;

/* Exit amplification: what each L2 exit cost, per basic exit reason of
 * the L2 exit.  An L2 exit that L1 handles is an episode from that exit to
 * the next entry to L2: every L0 exit in between (the reflected exit
 * itself, L1's VMX-instruction and other exits) and the cycles spent in L0
 * and in L1. */
#define NESTED_ACCT_REASONS 70
struct nested_acct_row {
    uint64_t l2_exits;              /* L2 exits of this reason */
    uint64_t reflected;             /* of them, reflected to L1 */
    uint64_t l0_exits;              /* L0 exits they caused, themselves included */
    uint64_t l0_cycles;             /* cycles in L0 (VM exit to VM entry) */
    uint64_t l1_cycles;             /* cycles in L1 (VM entry to VM exit) */
};
struct nested_acct {
    struct nested_acct_row row[NESTED_ACCT_REASONS];
    unsigned open;                  /* 1 + reason of the episode under way; 0 none */
    unsigned charge;                /* 1 + row the L0 time of the last exit goes to */
};

/* EPT02 = EPT12 ∘ EPT01, one per EPTP L1 used recently (LRU), per domain:
 * EPT12 lives in the domain's memory. */
#define EPT02_CACHE 4
struct ept02_slot {
    bool used;
    uint64_t eptp12;
    uint64_t last_use;
    struct ept ept;
};
struct dom_nested {
    struct ept02_slot ept02[EPT02_CACHE];
    uint64_t clock;
    uint64_t slot_gen;              /* bumped when a slot changes EPTP12 */
    uint64_t ept12_protected;       /* EPT01 pages write-protected as EPT12 tables */
    uint64_t ept02_fills, ept02_flushes;
};

/* Per-vCPU state, embedded in struct vcpu.  All-zero is "never used VMX":
 * not in VMX operation, feature control unlocked. */
struct vcpu_nested {
    uint64_t feature_control;       /* virtual IA32_FEATURE_CONTROL */
    bool vmxon;                     /* in (emulated) VMX root operation */
    bool have_current;              /* the current-VMCS pointer is valid */
    uint64_t vmxon_ptr;             /* guest-physical */
    uint64_t current_ptr;           /* guest-physical, when have_current */
    /* The current vmcs12 (header and fields), cached by the hv: loaded
     * at VMPTRLD, written back to L1 memory at VMCLEAR, at VMPTRLD of
     * another VMCS and at VMXOFF. */
    uint8_t vmcs12[VMCS12_SIZE] __attribute__((aligned(8)));

    /* L2: between an emulated VM entry and the next exit reflected to L1
     * the vCPU runs vmcs02 (then v->vmcs_pa == vmcs02_pa). */
    bool in_l2;
    uint64_t vmcs01_pa;             /* L1's VMCS, the vCPU's own */
    uint64_t vmcs02_pa;             /* allocated at the first VM entry */
    bool vmcs02_launched;
    bool vmcs01_launched;
    bool launching;                 /* the entry to L2 under way is a VMLAUNCH */
    bool checked_lma;               /* L1's EFER.LMA when vmcs12 was last checked in full */
    uint64_t vmcs02_of;             /* vmcs12 whose rare fields vmcs02 holds (0: none) */
    bool rare_dirty;                /* vmcs12 rare fields changed since vmcs02 took them */
    bool guest_stale;               /* vmcs02 holds newer guest state than vmcs12 */
    uint16_t vpid02;
    uint64_t eptp02;                /* the EPTP vmcs02 holds */
    uint64_t ept02_gen;             /* dom_nested.slot_gen when it was chosen */
    uint32_t timer12_left;          /* L1's VMX-preemption timer for L2, when active */
    uint64_t timer12_deadline;      /* when it reaches 0: TSC >> rate (SDM 26.5.1) */
    uint32_t timer02_loaded;        /* value given to vmcs02 at the last entry */
    /* VMCS shadowing: L1's VMREAD/VMWRITE of the hot fields go to this
     * shadow VMCS without exiting (docs/NESTED.md). */
    uint64_t shadow_pa;             /* 0: not used */
    uint64_t vmread_bitmap_pa, vmwrite_bitmap_pa;
    bool shadow_live;               /* the shadow VMCS holds the current vmcs12's hot fields */

    /* What SDM 28.5 derives from vmcs12's host fields and exit controls
     * (segment access rights, CR4), computed when they change and used on
     * every exit to L1; the other host fields are copied as they are. */
    bool host_plan_ok;
    struct nested_host_plan {
        uint32_t ar[6];             /* ES, CS, SS, DS, FS, GS (SDM order) */
        uint64_t cr4;
    } host_plan;

    struct nested_acct acct;
};

/* Exit handlers for the VMX instructions (basic exit reasons 19-27, 50, 53). */
void nested_vmclear(struct vcpu *v);
void nested_vmlaunch(struct vcpu *v);
void nested_vmptrld(struct vcpu *v);
void nested_vmptrst(struct vcpu *v);
void nested_vmread(struct vcpu *v);
void nested_vmresume(struct vcpu *v);
void nested_vmwrite(struct vcpu *v);
void nested_vmxoff(struct vcpu *v);
void nested_vmxon(struct vcpu *v);
void nested_invept(struct vcpu *v);
void nested_invvpid(struct vcpu *v);

/* MSR hooks, called before the hv's own MSR emulation. */
enum nested_msr { NESTED_MSR_NOT_MINE, NESTED_MSR_OK, NESTED_MSR_GP };
enum nested_msr nested_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
enum nested_msr nested_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);

/* Control registers: may the guest write this CR0 / CR4 value (called on
 * exits for owned bits)?  CR4.VMXE may be set only by nested domains and
 * not cleared in VMX operation; CR0.PE, NE and PG not cleared in VMX
 * operation (SDM 24.8). */
bool nested_cr0_write_ok(struct vcpu *v, uint64_t cr0);
bool nested_cr4_write_ok(struct vcpu *v, uint64_t cr4);

/* ---- L2 ---- */

static inline bool nested_in_l2(const struct vcpu_nested *n) { return n->in_l2; }
/* A VM exit while v runs L2 (vmcs02 current): handled by L0 (EPT02 fills,
 * its own interrupts and scheduling, exits L1 did not ask for) or
 * reflected to L1. */
void nested_l2_exit(struct vcpu *v, uint32_t full_reason);
/* Before each VM entry to L2 (vmcs02 current): may turn into an exit to
 * L1 (a virtual interrupt L1 intercepts). */
void nested_before_l2_entry(struct vcpu *v);
/* v's TSC offset for L1 changed (vcpu_set_tsc): the current VMCS and the
 * other one follow. */
void nested_tsc_offset_changed(struct vcpu *v);
/* L0 lowered vmcs02's VMX-preemption timer by `by` while L2 runs (an APIC
 * timer of L1's is due sooner): keeps L1's own timer for L2 counting right. */
void nested_l0_timer_lowered(struct vcpu *v, uint32_t by);
/* L0 starts a new time slice of `slice` timer ticks while vmcs02 is
 * current: vmcs02's VMX-preemption timer must still end at L1's timer for
 * L2 if that comes first. */
void nested_new_slice(struct vcpu *v, uint64_t slice);
/* VMLAUNCH/VMRESUME of vmcs02 failed (1 VMfailInvalid, 2 VMfailValid). */
void nested_l2_entry_failed(struct vcpu *v, int rc);
/* Exit accounting: called by the scheduler for every VM exit of a nested
 * domain's vCPU, with the TSC of the VM entry before it, of the exit, and
 * of the previous exit. */
void nested_account(struct vcpu *v, unsigned reason, uint64_t t_entry, uint64_t t_exit,
                    uint64_t t_prev_exit);
/* An EPT violation of L1 (vmcs01): a write to a page holding EPT12
 * entries that L0 write-protected.  Returns true if it was one (EPT02 is
 * invalidated, the page made writable again). */
bool nested_ept12_write(struct vcpu *v, uint64_t q, uint64_t gpa);
/* L2 guest-linear bytes (L2 paging and EPT12), for L0's emulation of an
 * L2 instruction; 0 or -1. */
int nested_l2_fetch(struct vcpu *v, uint64_t gla, void *buf, unsigned len);
/* L0 changed EPT01 (permissions, dirty flags): every EPT02 of d derived
 * from it is dropped. */
void nested_ept02_flush_domain(struct domain *d);
/* Frees the vCPU's and the domain's nested resources. */
void nested_vcpu_destroy(struct vcpu *v);
void nested_domain_destroy(struct domain *d);
/* Statistics: one JSON object per L2 exit reason seen (stats.c). */
struct stats_out;

/* Whether the domain of v has nested VMX (for CPUID). */
bool nested_enabled(const struct vcpu *v);

#endif

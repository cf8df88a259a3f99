/*
 * PML (page-modification logging, SDM 29.3.6) and log-dirty in L0.
 *
 * Every write that sets an EPT dirty flag 0->1 is logged by the CPU into the
 * vCPU's 4 KiB PML buffer; the hv drains the buffer into the domain's dirty
 * bitmap on PML-full exits, when the vCPU is scheduled out, on pause and on
 * every query, so a query never misses a write made before it.  While
 * logging, the domain's RAM is mapped with 4 KiB EPT leaves so that each
 * dirty 4 KiB page is logged.  The classic pre-PML method (EPT write
 * protection, one fault per first write) is offered beside it.
 * Interface for hv/: these functions only.
 */
#ifndef FEATURES_PML_H
#define FEATURES_PML_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;
struct xen_domctl_shadow_op;

#define PML_ENTRIES 512

#define TRACK_WINDOW_PAGES 8        /* pfns remembered per tracking window */

struct vcpu_pml {
    uint64_t buf_pa;            /* host-physical PML buffer, 0 if none */
    unsigned gen;               /* PML generation applied to the VMCS */
    int ctx;                    /* tracking context enabled here, or -1 */
    uint64_t *window;           /* pfns logged in the current window */
    uint64_t window_pa;
    unsigned window_len;
    bool window_overflow;       /* too many to list: re-arm all at the end */
};

/* A guest kernel's tracking context (features-pml/track.c). */
struct track_ctx {
    bool used;
    uint8_t vector;
    uint32_t size;              /* ring entries: the hv's copy, never re-read */
    uint64_t ring_gpa;
    uint64_t producer;          /* the hv's copy */
    uint64_t overflow;
    bool full_raised;           /* vector raised for the current full episode */
};

struct dom_logdirty {
    bool on;
    bool wp;                    /* tracking by write protection, not PML */
    unsigned gen;               /* bumped on every on/off switch */
    uint64_t *bitmap;           /* 1 bit per 4 KiB guest page */
    uint64_t bitmap_pa, bitmap_pages;
    uint64_t dirty_count;       /* pages newly marked since the last query */
    uint64_t fault_count;       /* PML-full exits or write-protection faults */
    bool split;                 /* RAM mapped with 4 KiB leaves */
    bool need_flush;            /* EPT dirty flags cleared since the last INVEPT */
    unsigned nr_track;
    struct track_ctx track[16];
};

/* Before every VM entry of v (VMCS current): apply on/off to the VMCS. */
void pml_vcpu_sync(struct vcpu *v);
/* v is being scheduled out (VMCS still current): drain its log. */
void pml_vcpu_switch_out(struct vcpu *v);
/* The domain is being paused: drain all its vCPUs. */
void logdirty_pause(struct domain *d);
void pml_domain_destroy(struct domain *d);
/* Exit reason 62. */
void handle_pml_full(struct vcpu *v);
/* EPT violation hook (write-protection mode): true if handled. */
bool logdirty_wp_fault(struct vcpu *v, uint64_t qualification, uint64_t gpa);
/* The hypervisor itself wrote [gpa, gpa+len) of d's RAM (hypercall
 * results, nested VMX state in L1 memory, rings): the log-dirty bitmap
 * gets those pages, as Xen's copy_to_guest marks them, since no EPT dirty
 * flag or write-protection fault sees such writes.  Guest tracking
 * contexts do not: they log the vCPU's own writes. */
void logdirty_hv_write(struct domain *d, uint64_t gpa, uint64_t len);

/* A write v made to the page holding gpa: to the log-dirty bitmap and to
 * tracking.  Called for each drained PML entry, and by nested/ for L2's
 * writes to the domain's memory, which EPT02 grants one page at a time. */
void pml_log(struct vcpu *v, uint64_t gpa);
/* XEN_DOMCTL_shadow_op from `caller` on `d` (not itself); Xen semantics.
 * Returns 0 or a negative Xen errno; op is updated for copy-back. */
long logdirty_shadow_op(struct vcpu *caller, struct domain *d, struct xen_domctl_shadow_op *op);
/* nestor_op commands NESTOR_OP_track_* (0x100-0x1ff). */
long track_op(struct vcpu *v, unsigned cmd, uint64_t arg);

#endif

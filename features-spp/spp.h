/*
 * SPP (sub-page write permissions, SDM 29.3.4) in L0: a per-domain SPP
 * table, hypercalls for guest kernels to protect 128-byte sub-pages of their
 * own RAM, and handling of the writes SPP stops.  Called by hv/ through
 * this interface only.
 */
#ifndef FEATURES_SPP_H
#define FEATURES_SPP_H

#include <stdbool.h>
#include <stdint.h>
#include "sppt.h"

struct domain;
struct vcpu;
struct hc_args;

#define SPP_MAX_REGIONS  1024       /* 2 MiB regions per domain (DOM_MAX_CHUNKS) */
#define SPP_MAX_VCPUS    8          /* >= HV_MAX_VCPUS */
#define SPP_RING         64         /* == NESTOR_SPP_RING */

/* Per-domain SPP state (lives in struct domain). */
struct dom_spp {
    struct sppt sppt;           /* sppt.root: host-physical SPPT root, 0 until first use */
    unsigned gen;               /* bumped when the SPPT root appears */
    unsigned vcpu_gen[SPP_MAX_VCPUS];   /* gen applied to each vCPU's VMCS */
    unsigned nr_protected;      /* 4 KiB pages with SPP on */
    unsigned limit;             /* at most this many */
    uint16_t region_count[SPP_MAX_REGIONS]; /* protected pages per 2 MiB region */
    uint64_t nr_violations;
    /* The most recent stopped writes (a ring). */
    struct spp_violation_rec {
        uint64_t gpa, gla, rip;
    } recent[SPP_RING];
    unsigned recent_head;       /* next slot to write */
    unsigned recent_count;      /* records kept, <= SPP_RING */
};

/* Domain lifetime.  init may be a no-op until the first SPP hypercall. */
void spp_domain_init(struct domain *d);
void spp_domain_destroy(struct domain *d);
/* Called with v's VMCS current before every VM entry that follows a change
 * to the domain's SPP configuration (cheap when nothing changed). */
void spp_vmcs_sync(struct vcpu *v);
/* EPT violation hook: returns true if this was a write stopped by SPP (it
 * then injected #GP(0) and recorded the violation). */
bool spp_ept_violation(struct vcpu *v, uint64_t qualification, uint64_t gpa);
/* Exit reason 66 (SPP-related event: SPPT miss or misconfiguration). */
void handle_spp_event(struct vcpu *v);
/* nestor_op commands NESTOR_OP_spp_* (0x200-0x2ff). */
long spp_op(struct vcpu *v, unsigned cmd, uint64_t arg);
/* True if the 2 MiB region at gpa holds SPP-protected pages (so other
 * features must not merge it back into a large EPT leaf). */
bool spp_region_protected(struct domain *d, uint64_t gpa_2m);

#endif

/* Shared between the files of features-pml (not part of its interface). */
#ifndef FEATURES_PML_INTERNAL_H
#define FEATURES_PML_INTERNAL_H

#include "pml.h"

/* Records that the 4 KiB guest page holding gpa was written. */
void logdirty_mark(struct domain *d, uint64_t gpa);
/* Tracking's share of a drained entry (track.c). */
void track_log(struct vcpu *v, uint64_t gpa);
/* Is PML wanted for the domain (log-dirty by PML, or tracking contexts)? */
bool pml_wanted(const struct domain *d);
/* Clears the EPT dirty flag of one page so its next write logs again. */
void pml_rearm_page(struct domain *d, uint64_t pfn);
/* 4 KiB leaves on / back to 2 MiB where nothing else needs 4 KiB. */
int pml_split_all(struct domain *d);
void pml_merge_all(struct domain *d);
void track_domain_destroy(struct domain *d);
/* INVEPT if dirty flags were cleared since the last one. */
void pml_flush_rearmed(struct domain *d);
/* Drains v (VMCS current) and flushes the EPT if entries were re-armed. */
void pml_drain_vcpu_current(struct vcpu *v);
void pml_drain_domain(struct domain *d);
int pml_alloc_buffers(struct domain *d);
void pml_free_buffers(struct domain *d);

#endif

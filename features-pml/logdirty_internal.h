/* Shared between the files of features-pml (not part of its interface). */
#ifndef FEATURES_PML_INTERNAL_H
#define FEATURES_PML_INTERNAL_H

#include "pml.h"

/* Records that the 4 KiB guest page holding gpa was written. */
void logdirty_mark(struct domain *d, uint64_t gpa);
void pml_drain_domain(struct domain *d);
int pml_alloc_buffers(struct domain *d);
void pml_free_buffers(struct domain *d);

#endif

/* Per-vCPU exit statistics: counts and hv cycles per exit reason. */
#ifndef HV_STATS_H
#define HV_STATS_H

#include "domain.h"

const char *exit_reason_name(unsigned reason);
/* Prints "[hv] stats {json}" for the domain. */
void stats_print_domain(const struct domain *d);
/* Fills the nestor_op exit-statistics structure of one vCPU. */
void stats_fill(const struct vcpu *v, struct nestor_exit_stats *out);

#endif

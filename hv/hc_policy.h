/* Pure checks on hypercall arguments (host unit-tested). */
#ifndef HV_HC_POLICY_H
#define HV_HC_POLICY_H

#include "lib.h"

#define CONSOLE_IO_MAX   16384   /* bytes per console_io write */

/* Who may name which domain: 0, or a negative Xen errno. */
int hc_policy_target(unsigned caller, bool caller_priv, unsigned target, bool target_exists);
/* domctl/sysctl interface version check: 0 or -XEN_EACCES. */
int hc_policy_version(uint32_t got, uint32_t want);
/* console_io write length: 0 or -XEN_EINVAL. */
int hc_policy_console_len(uint64_t count);
/* SCHEDOP_shutdown reason: 0 or -XEN_EINVAL. */
int hc_policy_shutdown_reason(uint64_t reason);
/* domctl pause/unpause: 0 or negative errno (-EINVAL for self, or unpause
 * of a domain that is not paused). */
int hc_policy_pause(unsigned caller, unsigned target, bool unpause, unsigned pause_count);

#endif

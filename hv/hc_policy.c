/* Hypercall argument rules, kept pure so every bad-input case is unit-tested. */
#include "hc_policy.h"
#include "xen_abi.h"

int hc_policy_target(unsigned caller, bool caller_priv, unsigned target, bool target_exists)
{
    if (target != caller && !caller_priv)
        return -XEN_EPERM;
    if (!target_exists)
        return -XEN_ESRCH;
    return 0;
}

int hc_policy_version(uint32_t got, uint32_t want)
{
    return got == want ? 0 : -XEN_EACCES;
}

int hc_policy_console_len(uint64_t count)
{
    return count <= CONSOLE_IO_MAX ? 0 : -XEN_EINVAL;
}

int hc_policy_shutdown_reason(uint64_t reason)
{
    return reason <= SHUTDOWN_MAX ? 0 : -XEN_EINVAL;
}

int hc_policy_pause(unsigned caller, unsigned target, bool unpause, unsigned pause_count)
{
    if (caller == target)
        return -XEN_EINVAL;     /* Xen: a domain cannot (un)pause itself */
    if (unpause && pause_count == 0)
        return -XEN_EINVAL;
    return 0;
}

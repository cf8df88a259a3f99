/* Dirty tracking contexts for guest kernels (nestor_op 0x100-0x1ff):
 * not built yet; every command answers -ENOSYS. */
#include "pml.h"
#include "../hv/xen_abi.h"

long track_op(struct vcpu *v, unsigned cmd, uint64_t arg)
{
    (void)v; (void)cmd; (void)arg;
    return -XEN_ENOSYS;
}

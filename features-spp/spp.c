/* SPP: not implemented yet.  Every SPP hypercall answers -ENOSYS, and no
 * page is ever SPP-protected, so the hooks below are all no-ops. */
#include "spp.h"
#include "../hv/domain.h"
#include "../hv/exit.h"
#include "../hv/xen_abi.h"

void spp_domain_init(struct domain *d) { (void)d; }
void spp_domain_destroy(struct domain *d) { (void)d; }
void spp_vmcs_sync(struct vcpu *v) { (void)v; }
bool spp_ept_violation(struct vcpu *v, uint64_t q, uint64_t gpa) { (void)v; (void)q; (void)gpa; return false; }
void handle_spp_event(struct vcpu *v) { domain_crash(v->dom, "SPP event exit without SPP in use"); }
long spp_op(struct vcpu *v, unsigned cmd, uint64_t arg) { (void)v; (void)cmd; (void)arg; return -XEN_ENOSYS; }
bool spp_region_protected(struct domain *d, uint64_t gpa_2m) { (void)d; (void)gpa_2m; return false; }

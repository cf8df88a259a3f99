/* EPT violations and misconfigurations.  Domains see only their own RAM
 * and their local APIC page (emulated, exit_apic.c): any other
 * guest-physical access (beyond RAM, or where the hv has removed access)
 * kills the domain and says exactly what was touched. */
#include "exit.h"
#include "pml.h"
#include "spp.h"
#include "console.h"
#include "vcpu.h"
#include "vmx.h"
#include "nested.h"

#define EPTQ_READ     BIT(0)
#define EPTQ_WRITE    BIT(1)
#define EPTQ_FETCH    BIT(2)
#define EPTQ_GLA_VALID BIT(7)

static const char *access_kind(uint64_t q)
{
    return q & EPTQ_FETCH ? "instruction fetch" : q & EPTQ_WRITE ? "write" : "read";
}

void handle_ept_violation(struct vcpu *v)
{
    uint64_t q = vmread(VMCS_EXIT_QUALIFICATION);
    uint64_t gpa = vmread(VMCS_GUEST_PHYSICAL_ADDR);
    uint64_t gla = (q & EPTQ_GLA_VALID) ? vmread(VMCS_GUEST_LINEAR_ADDR) : 0;
    struct domain *d = v->dom;

    /* Features that deliberately make EPT deny accesses come first. */
    if (gpa < d->mem_bytes && ((unlikely(d->nested.ept12_protected) && nested_ept12_write(v, q, gpa)) ||
                               spp_ept_violation(v, q, gpa) ||
                               logdirty_wp_fault(v, q, gpa)))
        return;
    if (gpa >= d->mem_bytes && lapic_mmio_claims(v, gpa, q)) {
        lapic_mmio_exit(v, gpa, q);
        return;
    }
    if (gpa >= d->mem_bytes)
        domain_crash(d, "%s of guest-physical %#lx (linear %#lx) outside its %lu MiB of RAM at rip %#lx",
                     access_kind(q), gpa, gla, d->mem_bytes / MiB, vcpu_rip());
    else
        domain_crash(d, "%s of guest-physical %#lx denied by EPT (qualification %#lx) at rip %#lx",
                     access_kind(q), gpa, q, vcpu_rip());
}

void handle_ept_misconfig(struct vcpu *v)
{
    domain_crash(v->dom, "EPT misconfiguration at guest-physical %#lx (hv bug)",
                 vmread(VMCS_GUEST_PHYSICAL_ADDR));
}

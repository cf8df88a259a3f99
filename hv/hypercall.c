/* VMCALL exit: the hypercall dispatcher and the hypercall page. */
#include "hypercall.h"
#include "pml.h"
#include "exit.h"
#include "vcpu.h"
#include "hc_policy.h"
#include "vmx.h"

static const hypercall_fn table[HYPERCALL_MAX] = {
    [__HYPERVISOR_memory_op] = hc_memory_op,
    [__HYPERVISOR_xen_version] = hc_xen_version,
    [__HYPERVISOR_console_io] = hc_console_io,
    [__HYPERVISOR_sched_op] = hc_sched_op,
    [__HYPERVISOR_sysctl] = hc_sysctl,
    [__HYPERVISOR_domctl] = hc_domctl,
    [__HYPERVISOR_nestor_op] = hc_nestor_op,
};

hypercall_fn hypercall_lookup(uint64_t nr)
{
    return nr < HYPERCALL_MAX ? table[nr] : NULL;
}

int hc_target_domain(struct vcpu *v, unsigned domid, struct domain **out)
{
    if (domid == DOMID_SELF)
        domid = v->dom->id;
    struct domain *d = domain_by_id(domid);
    int rc = hc_policy_target(v->dom->id, v->dom->flags & NESTOR_DOMF_PRIVILEGED, domid, d != NULL);
    *out = d;
    return rc;
}

void handle_vmcall(struct vcpu *v)
{
    uint64_t *g = v->regs.gpr;
    bool long_mode = vmread(VMCS_GUEST_CS_AR) & BIT(13);
    struct hc_args args;
    long ret;

    vcpu_skip_instruction(v);
    if (long_mode) {
        args = (struct hc_args){ { g[R_DI], g[R_SI], g[R_DX], g[R_10], g[R_8] } };
    } else {
        args = (struct hc_args){ { (uint32_t)g[R_BX], (uint32_t)g[R_CX], (uint32_t)g[R_DX],
                                   (uint32_t)g[R_SI], (uint32_t)g[R_DI] } };
    }
    uint64_t nr = long_mode ? g[R_AX] : (uint32_t)g[R_AX];
    hypercall_fn fn = hypercall_lookup(nr);
    if (vcpu_cpl() != 0)
        ret = -XEN_EPERM;       /* as Xen: only the guest kernel may call */
    else if (!fn)
        ret = -XEN_ENOSYS;
    else
        ret = fn(v, &args);
    if (v->state == VCPU_DEAD)
        return;
    g[R_AX] = long_mode ? (uint64_t)ret : (uint32_t)ret;
}

int hypercall_page_install(struct vcpu *v, uint64_t msr_val)
{
    uint64_t gpa = msr_val & ~(PAGE_SIZE - 1);
    if ((msr_val & (PAGE_SIZE - 1)) != 0)
        return -1;              /* one hypercall page: index 0 only */
    uint8_t *page = gpa_to_hva(v->dom, gpa);
    if (!page || gpa + PAGE_SIZE > v->dom->mem_bytes)
        return -1;
    for (unsigned i = 0; i < PAGE_SIZE / 32; i++) {
        uint8_t *s = page + i * 32;
        memset(s, 0xcc, 32);
        s[0] = 0xb8;                                    /* mov $i, %eax */
        memcpy(s + 1, &i, 4);
        s[5] = 0x0f; s[6] = 0x01; s[7] = 0xc1;          /* vmcall */
        s[8] = 0xc3;                                    /* ret */
    }
    logdirty_hv_write(v->dom, gpa, PAGE_SIZE);
    v->dom->hypercall_page_gpa = gpa;
    return 0;
}

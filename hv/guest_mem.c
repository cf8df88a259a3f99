/* Guest-linear copies: translate page by page through the guest's paging,
 * then through the domain's RAM map.  Anything outside RAM fails. */
#include "guest_mem.h"
#include "guest_walk.h"
#include "vmx.h"

bool guest_walk_read_gpa(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
    *val = 0;
    return copy_from_gpa(ctx, val, gpa, size) == 0;
}

void guest_walk_regs_current(struct walk_regs *r)
{
    r->cr0 = vmread(VMCS_GUEST_CR0);
    r->cr3 = vmread(VMCS_GUEST_CR3);
    r->cr4 = vmread(VMCS_GUEST_CR4);
    r->efer = vmread(VMCS_GUEST_IA32_EFER);
    for (unsigned i = 0; i < 4; i++)
        r->pdpte[i] = vmread(VMCS_GUEST_PDPTE0 + 2 * i);
}

static int copy_guest(struct vcpu *v, uint64_t gla, uint8_t *buf, uint64_t len, bool to_guest)
{
    struct walk_regs r;
    guest_walk_regs_current(&r);
    while (len) {
        uint64_t gpa, n = MIN(len, PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        if (guest_walk(&r, gla, to_guest, guest_walk_read_gpa, v->dom, &gpa) != WALK_OK)
            return -1;
        int rc = to_guest ? copy_to_gpa(v->dom, gpa, buf, n) : copy_from_gpa(v->dom, buf, gpa, n);
        if (rc)
            return -1;
        gla += n;
        buf += n;
        len -= n;
    }
    return 0;
}

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, uint64_t len)
{
    return copy_guest(v, gla, dst, len, false);
}

int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, uint64_t len)
{
    return copy_guest(v, gla, (uint8_t *)src, len, true);
}

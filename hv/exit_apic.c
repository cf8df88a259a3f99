/* Accesses to the local APIC page.  The page is never mapped in a
 * domain's EPT, so every access is an EPT violation that lands here: fetch
 * the instruction through the guest's paging, decode it (mmio_decode.c),
 * do the register access on the vCPU's APIC (lapic.c) and step over it.
 * What cannot be emulated ends the domain with the reason, never the hv:
 * an instruction the decoder does not know has no defined result Nestor
 * could give, and a #GP would only tell the guest something untrue. */
#include "exit.h"
#include "guest_mem.h"
#include "mmio_decode.h"
#include "vcpu.h"
#include "vmx.h"
#include "x86.h"
#include "nested.h"

#define EPTQ_WRITE    BIT(1)
#define EPTQ_FETCH    BIT(2)

bool lapic_mmio_claims(struct vcpu *v, uint64_t gpa, uint64_t q)
{
    const struct lapic *l = &v->lapic;
    /* Instruction fetches stay what they were: outside RAM. */
    return lapic_hw_enabled(l) && !(q & EPTQ_FETCH) && (gpa & APIC_BASE_ADDR_MASK) == lapic_base(l);
}

/* The code segment's default size, for the decoder. */
static enum mmio_mode cpu_mode(void)
{
    uint64_t cs_ar = vmread(VMCS_GUEST_CS_AR);
    if ((vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & BIT(13)))
        return MMIO_MODE64;
    if (!(vmread(VMCS_GUEST_CR0) & CR0_PE) || (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_VM))
        return MMIO_MODE16;
    return (cs_ar & BIT(14)) ? MMIO_MODE32 : MMIO_MODE16;
}

/* Up to 15 bytes at CS:RIP; fewer where a page is not readable (the
 * decoder then says whether the instruction needed them).  Returns the
 * number fetched. */
static unsigned fetch_insn(struct vcpu *v, enum mmio_mode mode, uint8_t *buf)
{
    uint64_t rip = vcpu_rip();
    uint64_t gla = mode == MMIO_MODE64 ? rip : (vmread(VMCS_GUEST_CS_BASE) + rip) & 0xffffffff;
    unsigned got = 0;
    while (got < MMIO_INSN_MAX) {
        unsigned n = (unsigned)MIN((uint64_t)(MMIO_INSN_MAX - got), PAGE_SIZE - ((gla + got) & (PAGE_SIZE - 1)));
        /* L2's instruction (an access L0 emulates on L1's APIC) is at
         * an L2 linear address: its paging and EPT12 translate it. */
        int rc = nested_in_l2(&v->nested) ? nested_l2_fetch(v, gla + got, buf + got, n)
                                          : copy_from_guest(v, buf + got, gla + got, n);
        if (rc)
            break;
        got += n;
    }
    return got;
}

/* Stores a loaded value as MOV does: a 32-bit destination clears bits
 * 63:32, a 16-bit one keeps them. */
static void load_into(struct vcpu *v, unsigned reg, unsigned size, uint64_t val)
{
    uint64_t old = vcpu_gpr(v, reg);
    if (size == 2)
        val = (old & ~0xffffull) | (val & 0xffff);
    else if (size == 4)
        val &= 0xffffffff;
    vcpu_set_gpr(v, reg, val);
}

static void dump_bytes(char *out, size_t size, const uint8_t *b, unsigned n)
{
    size_t pos = 0;
    out[0] = 0;
    for (unsigned i = 0; i < n && pos + 4 < size; i++)
        pos += (size_t)snprintf(out + pos, size - pos, "%s%02x", i ? " " : "", b[i]);
}

void lapic_mmio_exit(struct vcpu *v, uint64_t gpa, uint64_t q)
{
    struct domain *d = v->dom;
    uint8_t buf[MMIO_INSN_MAX];
    struct mmio_op op;
    char bytes[64];

    if (vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID) {
        domain_crash(d, "local APIC page %#lx touched while delivering an event at rip %#lx", gpa, vcpu_rip());
        return;
    }
    enum mmio_mode mode = cpu_mode();
    unsigned n = fetch_insn(v, mode, buf);
    enum mmio_error err = mmio_decode(buf, n, mode, &op);
    if (err != MMIO_OK) {
        dump_bytes(bytes, sizeof(bytes), buf, n);
        domain_crash(d, "local APIC access at %#lx, rip %#lx: %s (bytes %s)", gpa, vcpu_rip(),
                     mmio_error_str(err), bytes);
        return;
    }
    if (op.write != !!(q & EPTQ_WRITE)) {
        domain_crash(d, "local APIC access at %#lx, rip %#lx: the decoded %s is not the %s that exited",
                     gpa, vcpu_rip(), op.write ? "store" : "load", q & EPTQ_WRITE ? "write" : "read");
        return;
    }
    unsigned off = (unsigned)(gpa & (LAPIC_PAGE_SIZE - 1));
    if (off + op.size > LAPIC_PAGE_SIZE) {
        domain_crash(d, "local APIC access at %#lx, rip %#lx: %u bytes cross the end of the page",
                     gpa, vcpu_rip(), op.size);
        return;
    }
    uint64_t now = vcpu_guest_tsc(v);
    if (op.write) {
        uint64_t val = op.has_imm ? op.imm : vcpu_gpr(v, op.reg);
        const char *why = lapic_mmio_write(&v->lapic, off, op.size, (uint32_t)val, now);
        if (why) {
            domain_crash(d, "local APIC write of %#x to offset %#x at rip %#lx: %s",
                         (uint32_t)val, off, vcpu_rip(), why);
            return;
        }
    } else {
        load_into(v, op.reg, op.size, lapic_mmio_read(&v->lapic, off, op.size, now));
    }
    vcpu_advance_rip(v, op.len);
    vcpu_lapic_sync(v);
}

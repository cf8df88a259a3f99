/*
 * VMXON, VMCLEAR and VMPTRLD pointers at the edges of L1's memory (SDM
 * 30.3, "VMX instruction reference"), the cases vmx_insn and vmxfuzz do not
 * already make: the last bytes before the end of RAM, the last page within
 * the physical-address width, addresses of the machine's MMIO (the local
 * and I/O APIC pages, the top of 4 GiB), bit 63.  Under Nestor an aligned
 * pointer outside L1's RAM fails like one beyond the width: VMXON
 * VMfailInvalid, VMCLEAR VMfailValid(2), VMPTRLD VMfailValid(9) (see
 * docs/NESTED.md); on bare metal there is no such rule and a VMPTRLD there
 * reads whatever the bus returns (a wrong revision: 11) and a VMCLEAR
 * would write there (not made).  Every failure leaves the current VMCS and its fields alone and
 * it still launches.
 */
#include "lf.h"

#define PAGE 4096
static uint8_t region[PAGE] __attribute__((aligned(PAGE)));
static uint64_t ptr;

struct addr { const char *what; uint64_t a; bool in_width_aligned; };

static unsigned addrs(struct addr *v)
{
    uint64_t mem = rt_boot.mem_bytes, w = 1ul << maxphy;
    unsigned n = 0;
    v[n++] = (struct addr){ "RAM end - 8", mem - 8, false };
    v[n++] = (struct addr){ "RAM end + 8", mem + 8, false };
    v[n++] = (struct addr){ "RAM end", mem, true };
    v[n++] = (struct addr){ "0xfec00000 (I/O APIC)", 0xfec00000ul, true };
    v[n++] = (struct addr){ "0xfee00000 (local APIC)", 0xfee00000ul, true };
    v[n++] = (struct addr){ "4 GiB - 4 KiB", 0xfffff000ul, true };
    v[n++] = (struct addr){ "last page of the width", w - PAGE, true };
    v[n++] = (struct addr){ "last page of the width + 0x800", w - PAGE + 0x800, false };
    v[n++] = (struct addr){ "the width", w, false };
    v[n++] = (struct addr){ "bit 63", 1ul << 63, false };
    v[n++] = (struct addr){ "all ones but 11:0", ~0xffful, false };
    for (unsigned i = 0; i < n; i++)       /* under 32 MiB of RAM these are all outside RAM */
        if (v[i].a < mem)
            v[i].in_width_aligned = false;
    return n;
}

void t_ptrs_vmxon(void)
{
    struct addr v[16];
    unsigned n = addrs(v);
    uint64_t basic = 0;
    rdmsr_safe(0x480, &basic);
    write_cr4_safe(read_cr4() | CR4_VMXE);
    uint64_t fc = 0;
    rdmsr_safe(0x3a, &fc);
    if (!(fc & 1))
        wrmsr_safe(0x3a, fc | 5);
    for (unsigned i = 0; i < n; i++) {
        char b[48];
        struct vres r = (ptr = v[i].a, vx_vmxon(&ptr));
        CHECK(vx_invalid(r), "ptrs: VMXON with the pointer %s (%#lx) -> VMfailInvalid (%s)", v[i].what, v[i].a,
              vx_str(r, b, sizeof(b)));
        if (vx_ok(r))
            vx_vmxoff();
    }
}

L2FN static void l2_count(uint64_t arg)
{
    ++*(volatile uint64_t *)arg;
}

void t_ptrs(void)
{
    static volatile uint64_t runs;
    struct addr v[16];
    unsigned n = addrs(v);
    runs = 0;
    if (!vm_setup(l2_count, pa((const void *)&runs)))
        return;
    static uint64_t cur;
    vx_vmptrst(&cur);
    uint64_t rip = vmr(F_G_RIP), eptp = vmr(F_EPTP);
    for (unsigned i = 0; i < n; i++) {
        char b[48];
        struct vres r = (ptr = v[i].a, vx_vmptrld(&ptr));
        bool ok = vx_fail(r, 9) || (bare && v[i].in_width_aligned && vx_fail(r, 11));
        CHECK(ok, "ptrs: VMPTRLD %s (%#lx) -> VMfailValid(9) (%s)", v[i].what, v[i].a, vx_str(r, b, sizeof(b)));
        if (bare && v[i].in_width_aligned)
            continue;           /* a VMCLEAR would write the machine's memory or MMIO there */
        r = (ptr = v[i].a, vx_vmclear(&ptr));
        ok = vx_fail(r, 2);
        CHECK(ok, "ptrs: VMCLEAR %s (%#lx) -> VMfailValid(2) (%s)", v[i].what, v[i].a, vx_str(r, b, sizeof(b)));
        /* A failure keeps the current VMCS and its fields. */
        static uint64_t now;
        vx_vmptrst(&now);
        if (now != cur || vmr(F_G_RIP) != rip || vmr(F_EPTP) != eptp) {
            CHECK(false, "ptrs: after %s the current VMCS is %#lx (%#lx) and its fields kept", v[i].what, now, cur);
            return;
        }
    }
    CHECK(true, "ptrs: every failed VMPTRLD/VMCLEAR kept the current VMCS %#lx and its fields", cur);
    /* VMXON in VMX operation with those pointers: VMfailValid(15) first. */
    struct vres r = (ptr = v[2].a, vx_vmxon(&ptr));
    CHECK(vx_fail(r, 15), "ptrs: VMXON in VMX root with a pointer outside RAM -> VMfailValid(15)");
    struct exit_info *e = l2_run();
    CHECK(is_done(e) && runs == 1, "ptrs: the VMCS launches after all that (%s)", exit_str(e));
    (void)region;
}

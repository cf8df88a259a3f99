/*
 * VM entry (SDM chapter 27): checks on controls (VMfailValid 7) and host
 * state (VMfailValid 8), guest-state checks that fail with a VM exit
 * (reason 33 with bit 31, 27.8), the MSR-load list (reason 34 on a bad
 * entry; loads and stores that work), the launch state rules of VMLAUNCH
 * and VMRESUME (errors 4 and 5), and the processor state after a VM exit
 * (28.5: RFLAGS, DR7, GDTR/IDTR limits).
 */
#include "l1.h"


uint64_t l2_enter(uint32_t launch);
static volatile uint64_t out[8];

L2FN static void l2_nothing(uint64_t arg)
{
    out[0]++;
}

static bool failed_with(struct exit_info *e, unsigned err)
{
    return e->vmfail && (e->fail_flags & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == err;
}

/* A field value VM entry must refuse with VMfailValid(err); after
 * restoring it the VMLAUNCH works (a failed VMLAUNCH leaves the launch
 * state clear). */
static void bad_field(const char *what, uint64_t enc, uint64_t bad, unsigned err)
{
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0))
        return;
    uint64_t old = vmr(enc);
    vmw(enc, bad);
    struct exit_info *e = l2_run();
    CHECK(failed_with(e, err), "entry: %s -> VMfailValid(%u) (%s)", what, err, E(e));
    CHECK(out[0] == 0 && !l2_launched(), "entry: %s: L2 did not run", what);
    vmw(enc, old);
    l2_done("entry: restored, VMLAUNCH");
}

/* With "VMCS shadowing", a VMCS link pointer other than all ones must name
 * a shadow VMCS: the revision identifier with bit 31 set (27.3.1.5). */
#define PROC2_VMCS_SHADOW (1u << 14)
#define F_VMREAD_BITMAP   0x2026
#define F_VMWRITE_BITMAP  0x2028
static uint8_t link_region[4096] __attribute__((aligned(4096)));
static uint8_t rw_bitmap[4096] __attribute__((aligned(4096)));

static void link_pointer_case(const char *what, uint32_t header, bool ok)
{
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0) || !set_proc2(PROC2_VMCS_SHADOW))
        return;
    memset(rw_bitmap, 0xff, sizeof(rw_bitmap));
    vmw(F_VMREAD_BITMAP, pa(rw_bitmap));
    vmw(F_VMWRITE_BITMAP, pa(rw_bitmap));
    memset(link_region, 0, sizeof(link_region));
    memcpy(link_region, &header, sizeof(header));
    vmw(F_LINK_PTR, pa(link_region));
    struct exit_info *e = l2_run();
    if (ok)
        CHECK(is_done(e), "entry: %s: L2 runs (%s)", what, E(e));
    else
        CHECK(!e->vmfail && e->reason == (EXIT_FAILED_ENTRY | R_BAD_GUEST) && e->qual == 4 && out[0] == 0,
              "entry: %s -> VM-entry failure exit, qualification 4 (%s)", what, E(e));
}

static void link_pointer_cases(void)
{
    if (skip_if(!(cap.proc2_1 & PROC2_VMCS_SHADOW), "entry: VMCS shadowing not offered"))
        return;
    uint32_t rev = (uint32_t)cap.basic & 0x7fffffff;
    link_pointer_case("link pointer to a shadow VMCS", rev | (1u << 31), true);
    link_pointer_case("link pointer to an ordinary VMCS with VMCS shadowing", rev, false);
    link_pointer_case("link pointer to a region with another revision", (rev + 1) | (1u << 31), false);
}

/* A guest-state value that makes VM entry fail with an exit (27.8). */
static void bad_guest(const char *what, uint64_t enc, uint64_t bad, uint64_t qual)
{
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0))
        return;
    uint64_t old = vmr(enc);
    vmw(enc, bad);
    struct exit_info *e = l2_run();
    CHECK(!e->vmfail && e->reason == (EXIT_FAILED_ENTRY | R_BAD_GUEST) && e->qual == qual,
          "entry: %s -> VM-entry failure exit, reason %#x, qualification %lu (%s)", what,
          EXIT_FAILED_ENTRY | R_BAD_GUEST, qual, E(e));
    CHECK(e->host_rflags == 0x2 && out[0] == 0, "entry: %s: L1 continues at HOST_RIP with RFLAGS 0x2 (%#lx)", what,
          e->host_rflags);
    uint64_t r = l2_enter(0);
    CHECK((r >> 63) && (r & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == 5,
          "entry: %s: the launch state stays clear: VMRESUME -> VMfailValid(5) (flags %#lx, error %lu)", what,
          r & ~(1ul << 63), vmr(F_INSN_ERROR));
    vmw(enc, old);
    l2_done("entry: fixed, VMLAUNCH");
}

static uint64_t entry_msrs[4][2] __attribute__((aligned(16)));
static uint64_t exit_store[2][2] __attribute__((aligned(16)));
static uint64_t exit_load[2][2] __attribute__((aligned(16)));

L2FN static void l2_tsc_aux(uint64_t arg)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000103));
    out[1] = lo;
    __asm__ volatile("wrmsr" :: "c"(0xc0000103), "a"(0x43), "d"(0));
}

/* L2 reads its TSC twice: by RDTSC and by RDMSR (L1 lets it through). */
L2FN static void l2_tsc(uint64_t arg)
{
    uint32_t lo, hi;
    out[2] = rdtsc();
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x10));
    out[3] = ((uint64_t)hi << 32) | lo;
}

/* IA32_TSC in the VM-entry MSR-load list sets the TSC (L1's, as WRMSR
 * would); L2 sees it plus vmcs12's TSC offset, by RDTSC and RDMSR. */
static void tsc_load_case(void)
{
    if (!vm_setup(l2_tsc, 0) || !set_proc(PROC_MSR_BITMAPS | PROC_TSC_OFFSET))
        return;
    uint64_t base = rdtsc() + (1ul << 40), off = 1ul << 36;
    entry_msrs[0][0] = 0x10, entry_msrs[0][1] = base;
    vmw(F_ENTRY_MSR_LOAD_ADDR, pa(entry_msrs));
    vmw(F_ENTRY_MSR_LOAD_COUNT, 1);
    vmw(F_TSC_OFFSET, off);
    out[2] = out[3] = 0;
    l2_done("entry: IA32_TSC in the MSR-load list");
    uint64_t l1_now = rdtsc();
    CHECK(out[2] >= base + off && out[2] - (base + off) < 2000000 && out[3] >= out[2] &&
          out[3] - out[2] < 2000000,
          "entry: L2's RDTSC %#lx and RDMSR %#lx continue from the loaded %#lx plus the offset %#lx",
          out[2], out[3], base, off);
    CHECK(l1_now >= base && l1_now < out[2], "entry: L1's own TSC continues from the loaded value (%#lx)", l1_now);
}

void t_entry(void)
{
    /* Controls (27.2.1.1). */
    uint32_t pin_must = cap.pin0 & -cap.pin0;           /* lowest allowed-0 bit */
    if (pin_must)
        bad_field("pin-based control with an allowed-0 (must be 1) bit cleared", F_PIN, cap.pin0 & ~pin_must, 7);
    uint32_t proc_bad = ~cap.proc1 & -~cap.proc1;       /* lowest bit not allowed-1 */
    if (proc_bad)
        bad_field("processor-based control with a bit that is not allowed-1", F_PROC,
                  ((cap.proc0 | PROC_SECONDARY) & cap.proc1) | proc_bad, 7);
    unsigned ntargets = (cap.misc >> 16) & 0x1ff;
    bad_field("CR3-target count above IA32_VMX_MISC[24:16]", F_CR3_TARGET_COUNT, ntargets + 1, 7);
    bad_field("EPTP with memory type 1", F_EPTP, (eptp12 & ~7ul) | 1, 7);
    bad_field("VM-entry interruption information of reserved type 1", F_ENTRY_INTR_INFO, 0x80000100u | 0x20, 7);
    /* Host state (27.2.2, 27.2.3). */
    bad_field("HOST_CR0 without PE (IA32_VMX_CR0_FIXED0)", F_H_CR0, read_cr0() & ~1ul, 8);
    bad_field("HOST_CS selector 0", F_H_CS_SEL, 0, 8);
    bad_field("HOST_TR selector 0", F_H_TR_SEL, 0, 8);
    bad_field("HOST_RIP not canonical", F_H_RIP, 0x0000800000000000ul, 8);
    /* Guest state (27.3.1): VM-entry failure exits. */
    bad_guest("guest RFLAGS bit 1 clear", F_G_RFLAGS, 0, 0);
    bad_guest("guest CR0.PG without PE", F_G_CR0, 0x80010032, 0);
    if (!(cap.misc & (1ul << 8)))
        bad_guest("guest activity state 3 (wait-for-SIPI, not in IA32_VMX_MISC)", F_G_ACTIVITY, 3, 0);
    else
        bad_guest("guest activity state 4 (not an activity state)", F_G_ACTIVITY, 4, 0);
    bad_guest("VMCS link pointer not 4 KiB aligned (qualification 4)", F_LINK_PTR, 0x1001, 4);
    link_pointer_cases();

    /* The VM-entry MSR-load list (27.4): a bad second entry fails the entry
     * with reason 34 and the entry's number as qualification. */
    uint64_t aux0 = 0;
    if (skip_if(rdmsr_safe(0xc0000103, &aux0) != -1, "entry: no IA32_TSC_AUX for the MSR lists"))
        return;
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0))
        return;
    entry_msrs[0][0] = 0xc0000103, entry_msrs[0][1] = 0x42;
    entry_msrs[1][0] = 0x100000000ul | 0x174, entry_msrs[1][1] = 0;     /* bits 63:32 reserved */
    vmw(F_ENTRY_MSR_LOAD_ADDR, pa(entry_msrs));
    vmw(F_ENTRY_MSR_LOAD_COUNT, 2);
    struct exit_info *e = l2_run();
    CHECK(!e->vmfail && e->reason == (EXIT_FAILED_ENTRY | R_MSR_LOAD) && e->qual == 2,
          "entry: MSR-load list entry 2 with reserved bits -> exit reason %#x, qualification 2 (%s)",
          EXIT_FAILED_ENTRY | R_MSR_LOAD, E(e));
    CHECK(out[0] == 0, "entry: L2 did not run");
    /* A good list: loaded at entry; the exit lists store and load. */
    out[1] = 0;
    if (!vm_setup(l2_tsc_aux, 0) || !set_proc(PROC_MSR_BITMAPS))
        return;
    wrmsr_safe(0xc0000103, 0x5);
    vmw(F_ENTRY_MSR_LOAD_ADDR, pa(entry_msrs));
    vmw(F_ENTRY_MSR_LOAD_COUNT, 1);
    exit_store[0][0] = 0xc0000103, exit_store[0][1] = 0;
    exit_load[0][0] = 0xc0000103, exit_load[0][1] = 0x7;
    vmw(F_EXIT_MSR_STORE_ADDR, pa(exit_store));
    vmw(F_EXIT_MSR_STORE_COUNT, 1);
    vmw(F_EXIT_MSR_LOAD_ADDR, pa(exit_load));
    vmw(F_EXIT_MSR_LOAD_COUNT, 1);
    l2_done("entry: MSR lists");
    uint64_t aux = 0;
    rdmsr_safe(0xc0000103, &aux);
    CHECK(out[1] == 0x42, "entry: L2 reads the TSC_AUX the VM-entry MSR-load list loaded (%#lx)", out[1]);
    CHECK(exit_store[0][1] == 0x43, "entry: the VM-exit MSR-store list saved L2's TSC_AUX (%#lx)", exit_store[0][1]);
    CHECK(aux == 7, "entry: the VM-exit MSR-load list loaded L1's TSC_AUX (%#lx)", aux);
    wrmsr_safe(0xc0000103, aux0);
    tsc_load_case();
}

/* ---- launch state, state after VM exit ------------------------------------------- */
struct __attribute__((packed)) dtr { uint16_t limit; uint64_t base; };

void t_launch(void)
{
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0))
        return;
    uint64_t r = l2_enter(0);
    CHECK((r >> 63) && (r & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == 5,
          "launch: VMRESUME of a clear vmcs12 -> VMfailValid(5) (error %lu)", vmr(F_INSN_ERROR));
    /* DR7 is 0x400 after every VM exit (28.5.1); set a breakpoint on data
     * nobody executes to see it cleared. */
    static uint8_t bp_target[16];
    __asm__ volatile("mov %0, %%dr0; mov %1, %%dr7" :: "r"(pa(bp_target)), "r"(0x402ul));
    struct dtr g0, i0, g1, i1;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g0), "=m"(i0));
    struct exit_info *e = l2_run();
    uint64_t dr7;
    __asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g1), "=m"(i1));
    CHECK(is_done(e) && out[0] == 1, "launch: VMLAUNCH runs L2 (%s)", E(e));
    CHECK(e->host_rflags == 0x2, "launch: RFLAGS after the VM exit is 0x2 (%#lx)", e->host_rflags);
    CHECK(dr7 == 0x400, "launch: DR7 after the VM exit is 0x400 (%#lx)", dr7);
    CHECK(g1.limit == 0xffff && i1.limit == 0xffff && g1.base == g0.base && i1.base == i0.base,
          "launch: GDTR and IDTR limits after the VM exit are 0xffff (%#x %#x), bases the host fields",
          g1.limit, i1.limit);
    __asm__ volatile("lgdt %0; lidt %1" :: "m"(g0), "m"(i0));
    r = l2_enter(1);
    CHECK((r >> 63) && (r & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == 4,
          "launch: VMLAUNCH after a successful launch -> VMfailValid(4) (flags %#lx, error %lu)", r & ~(1ul << 63),
          vmr(F_INSN_ERROR));
    l2_restart(l2_nothing, 0);
    e = l2_run();
    CHECK(is_done(e) && out[0] == 2, "launch: VMRESUME runs L2 again (%s)", E(e));
    /* VMCLEAR writes the launch state clear; the fields stay in the region. */
    static uint64_t ptr, cur;
    vx_vmptrst(&cur);
    ptr = cur;
    struct vres v1 = vx_vmclear(&ptr), v2 = vx_vmptrld(&ptr);
    CHECK(vx_ok(v1) && vx_ok(v2), "launch: VMCLEAR and VMPTRLD of the launched vmcs12");
    r = l2_enter(0);
    CHECK((r >> 63) && (r & VMX_FLAGS) == FL_ZF && vmr(F_INSN_ERROR) == 5,
          "launch: VMRESUME after VMCLEAR -> VMfailValid(5) (error %lu)", vmr(F_INSN_ERROR));
    l2_set_launched(false);
    l2_restart(l2_nothing, 0);
    e = l2_run();
    CHECK(is_done(e) && out[0] == 3, "launch: VMLAUNCH after VMCLEAR runs L2 with the fields kept (%s)", E(e));
    r = l2_enter(1);
    CHECK((r >> 63) && vmr(F_INSN_ERROR) == 4, "launch: and the VMCS is launched again (VMLAUNCH -> error %lu)",
          vmr(F_INSN_ERROR));
}

/* ---- two vmcs12s, each launched, alternating ------------------------------------- */
static uint8_t vmcs_b[4096] __attribute__((aligned(4096)));
static uint8_t stack_b[8192] __attribute__((aligned(16)));
extern char l2_two_at[];

L2FN static void l2_two(uint64_t arg)
{
    uint32_t a = (uint32_t)arg, b, c = 0, d;
    __asm__ volatile(".globl l2_two_at\nl2_two_at: cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    out[2] = a;
}

void t_two(void)
{
    static uint64_t pa_a, pa_b;
    uint8_t *region_a = vmcs_region;
    out[0] = out[2] = 0;
    /* A: runs to its CPUID exit and stays there. */
    if (!vm_setup(l2_two, 0xaaaa))
        return;
    struct exit_info *e = l2_run();
    CHECK(!e->vmfail && e->reason == R_CPUID && e->rip == pa(l2_two_at), "two: vmcs12 A: L2 exits at its CPUID (%s)", E(e));
    struct l2_regs regs_a = l2r;
    vx_vmptrst(&pa_a);
    /* B: a second vmcs12 (own region, own L2 stack), launched to its end. */
    vmcs_region = vmcs_b;
    bool ok = vm_setup(l2_nothing, 0);
    vmcs_region = region_a;
    if (!ok)
        return;
    vmw(F_G_RSP, pa(stack_b + sizeof(stack_b)));
    vx_vmptrst(&pa_b);
    e = l2_run();
    CHECK(is_done(e) && out[0] == 1 && pa_b != pa_a, "two: vmcs12 B launched and ran to its end while A is launched (%s)", E(e));
    /* Back to A: VMPTRLD, emulate its CPUID, VMRESUME. */
    struct vres r = vx_vmptrld(&pa_a);
    CHECK(vx_ok(r) && vmr(F_G_RIP) == pa(l2_two_at) && vmr(F_EXIT_REASON) == R_CPUID,
          "two: VMPTRLD of A finds its guest RIP and exit reason (%#lx, %lu)", vmr(F_G_RIP), vmr(F_EXIT_REASON));
    l2r = regs_a;
    l2r.rax = 0x7777;
    skip_insn();
    l2_set_launched(true);
    e = l2_run();
    CHECK(is_done(e) && out[2] == 0x7777, "two: VMRESUME of A continues its L2 after the CPUID (%#lx; %s)", out[2], E(e));
    /* And B again, by VMRESUME. */
    r = vx_vmptrld(&pa_b);
    l2_restart(l2_nothing, 0);
    vmw(F_G_RSP, pa(stack_b + sizeof(stack_b)));
    l2_set_launched(true);
    e = l2_run();
    CHECK(vx_ok(r) && is_done(e) && out[0] == 2, "two: VMPTRLD of B and VMRESUME run B again (%s)", E(e));
}

/*
 * Exceptions, control registers, the VMX-preemption timer, interrupt-window
 * exiting and event injection (SDM 25.2 exception bitmap and #PF error-code
 * mask/match, 25.6.6 CR0/CR4 guest/host masks and read shadows, 25.6.7
 * CR3-target controls, 26.5.1 preemption timer, 26.7.5 interrupt-window
 * exiting, 27.6 event injection, 28.2.2 exit-information fields).
 */
#include "l1.h"


static volatile uint64_t out[16];

/* Interruption information (Table 25-17): vector 7:0, type 10:8, error
 * code 11, valid 31. */
#define II(vec, type, err) (0x80000000u | ((err) ? 0x800u : 0) | ((uint32_t)(type) << 8) | (vec))
#define T_EXT 0
#define T_NMI 2
#define T_HW 3
#define T_SWINT 4
#define T_SWEXC 6

/* ---- exception bitmap ----------------------------------------------------- */
extern char l2_ud_at[], l2_bp_at[], l2_gp_at[], l2_gpcr4_at[];
L2FN static void l2_ud(uint64_t arg)
{
    __asm__ volatile("1: " GL(l2_ud_at) "ud2\n2:\n\t" RT_EXTABLE(1b, 2b) ::: "memory");
    out[0]++;
}

L2FN static void l2_bp(uint64_t arg)
{
    __asm__ volatile(GL(l2_bp_at) "int3" ::: "memory");
    out[0]++;
}

/* MOV to CR4 clearing VMXE, which L1's CR4 mask leaves to L2: VMXE is
 * fixed to 1 in VMX operation, so the CPU's #GP, not a CR-access exit. */
L2FN static void l2_gp_cr4(uint64_t arg)
{
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("1: " GL(l2_gpcr4_at) "mov %0, %%cr4\n2:\n\t" RT_EXTABLE(1b, 2b)
                     :: "r"(cr4 & ~(1ul << 13)) : "memory");
    l2_vmcall(L2_DONE);
}

L2FN static void l2_gp(uint64_t arg)
{
    /* Selector 0x1238 is beyond L2's GDT limit: #GP(0x1238) (SDM Vol. 3 6.15). */
    __asm__ volatile("1: " GL(l2_gp_at) "mov %0, %%ds\n2:\n\t" RT_EXTABLE(1b, 2b) :: "r"(0x1238) : "memory");
    out[0]++;
}

/* #PF sites: read and write of a not-present page, write of a read-only one. */
extern char l2_pf_r[], l2_pf_w[], l2_pf_ro[];
L2FN static void l2_pf(uint64_t arg)
{
    uint64_t v = 0;
    __asm__ volatile("1: " GL(l2_pf_r) "mov (%1), %0\n2:\n\t" RT_EXTABLE(1b, 2b)
                     : "+r"(v) : "r"(L2_NP_VA + 0x128) : "memory");
    __asm__ volatile("1: " GL(l2_pf_w) "movq $1, (%0)\n2:\n\t" RT_EXTABLE(1b, 2b)
                     :: "r"(L2_NP_VA + 0x2340) : "memory");
    __asm__ volatile("1: " GL(l2_pf_ro) "movq $1, (%0)\n2:\n\t" RT_EXTABLE(1b, 2b)
                     :: "r"(L2_RO_VA + 0x3450) : "memory");
    out[0]++;
}

static const struct { const char *site; uint64_t addr; uint32_t pfec; const char *name; } pf_sites[3] = {
    { l2_pf_r, L2_NP_VA + 0x128, 0, "read, not present" },
    { l2_pf_w, L2_NP_VA + 0x2340, 2, "write, not present" },
    { l2_pf_ro, L2_RO_VA + 0x3450, 3, "write, read-only" },
};

/* Runs l2_pf with this bitmap bit 14, mask and match; `exits` is the set
 * of sites (bit i = pf_sites[i]) that must exit. */
static void pf_case(bool bit14, uint32_t mask, uint32_t match, unsigned exits)
{
    char what[96];
    snprintf(what, sizeof(what), "exc: #PF bit14=%d mask=%#x match=%#x", bit14, mask, match);
    if (!vm_setup(l2_pf, 0))
        return;
    vmw(F_EXC_BITMAP, bit14 ? 1u << 14 : 0);
    vmw(F_PFEC_MASK, mask);
    vmw(F_PFEC_MATCH, match);
    unsigned seen = 0;
    bool info_ok = true, cr2_ok = true;
    /* CR2 is one register for L1 and L2: L1 writes a marker before each
     * entry; at an exit it holds the marker, or the address of a #PF that
     * L2 took itself since then, never that of the #PF that exited. */
    const uint64_t cr2_marker = 0x5a5a000;
    int last = -1;
    struct exit_info *e;
    for (unsigned n = 0; n < 4; n++) {
        __asm__ volatile("mov %0, %%cr2" :: "r"(cr2_marker));
        e = l2_run();
        if (e->vmfail || e->reason != R_EXC_NMI)
            break;
        uint64_t cr2 = read_cr2();
        unsigned i = 0;
        while (i < 3 && e->rip != pa(pf_sites[i].site))
            i++;
        uint64_t want_cr2 = cr2_marker;
        for (int j = last + 1; j < (int)i; j++)
            want_cr2 = pf_sites[j].addr;
        if (cr2 != want_cr2) {
            rt_printf("  CR2 at the #PF exit of site %u: %#lx (want %#lx)\n", i, cr2, want_cr2);
            cr2_ok = false;
        }
        last = (int)i;
        if (i == 3 || e->intr_info != II(14, T_HW, 1) || e->intr_error != pf_sites[i].pfec ||
            e->qual != pf_sites[i].addr) {
            rt_printf("  unexpected #PF exit: %s (idx %u)\n", E(e), i);
            info_ok = false;
        }
        if (i < 3)
            seen |= 1u << i;
        if (!l2_fixup())
            break;
    }
    CHECK(is_done(e), "%s: L2 ran to its end (%s)", what, E(e));
    CHECK(seen == exits, "%s: the #PFs that exit are %#x (want %#x)", what, seen, exits);
    if (exits)
        CHECK(info_ok, "%s: each exit has vector 14 hardware exception with error code, the PFEC, "
              "and the linear address as exit qualification", what);
    if (exits)
        CHECK(cr2_ok, "%s: a #PF that exits does not write CR2 (27.1)", what);
    /* The others are delivered to L2 with their error code and CR2. */
    unsigned k = 0;
    bool l2_ok = true;
    for (unsigned i = 0; i < 3; i++) {
        if (exits & (1u << i))
            continue;
        if (k >= l2_nev || l2_ev[k].vector != 14 || l2_ev[k].error != pf_sites[i].pfec ||
            l2_ev[k].cr2 != pf_sites[i].addr || l2_ev[k].rip != pa(pf_sites[i].site)) {
            rt_printf("  L2 event %u: vector %lu error %#lx cr2 %#lx rip %#lx (want %s)\n", k,
                      k < 8 ? l2_ev[k].vector : 0, k < 8 ? l2_ev[k].error : 0,
                      k < 8 ? l2_ev[k].cr2 : 0, k < 8 ? l2_ev[k].rip : 0, pf_sites[i].name);
            l2_ok = false;
        }
        k++;
    }
    CHECK(l2_ok && l2_nev == k, "%s: the %u others reach L2's #PF handler with error code and CR2", what, k);
}

void t_exc(void)
{
    struct exit_info *e;
    /* #UD intercepted */
    out[0] = 0;
    if (!vm_setup(l2_ud, 0))
        return;
    vmw(F_EXC_BITMAP, 1u << 6);
    e = l2_next(R_EXC_NMI, "exc: #UD with bitmap bit 6 exits");
    CHECK(e->intr_info == II(6, T_HW, 0), "exc: #UD interruption information %#x (want %#x)", e->intr_info, II(6, T_HW, 0));
    CHECK(e->rip == pa(l2_ud_at) && l2_nev == 0, "exc: guest RIP at the UD2, L2's handler not run");
    CHECK(!(e->idt_info & 0x80000000u), "exc: IDT-vectoring information not valid (%#x)", e->idt_info);
    l2_fixup();
    l2_done("exc #UD");
    /* #UD not intercepted */
    if (!vm_setup(l2_ud, 0))
        return;
    l2_done("exc: #UD with bitmap bit 6 clear reaches L2 without an exit");
    CHECK(l2_nev == 1 && l2_ev[0].vector == 6 && l2_ev[0].rip == pa(l2_ud_at),
          "exc: L2's own #UD handler ran (%u events, vector %lu)", l2_nev, l2_ev[0].vector);
    /* #BP: software exception (type 6) with an instruction length */
    if (!vm_setup(l2_bp, 0))
        return;
    vmw(F_EXC_BITMAP, 1u << 3);
    e = l2_next(R_EXC_NMI, "exc: INT3 with bitmap bit 3 exits");
    CHECK(e->intr_info == II(3, T_SWEXC, 0) && e->len == 1 && e->rip == pa(l2_bp_at),
          "exc: #BP interruption information %#x (want %#x), length %u, RIP at the INT3", e->intr_info,
          II(3, T_SWEXC, 0), e->len);
    skip_insn();
    l2_done("exc #BP");
    /* #GP with an error code */
    if (!vm_setup(l2_gp, 0))
        return;
    vmw(F_EXC_BITMAP, 1u << 13);
    e = l2_next(R_EXC_NMI, "exc: #GP with bitmap bit 13 exits");
    CHECK(e->intr_info == II(13, T_HW, 1) && e->intr_error == 0x1238,
          "exc: #GP interruption information %#x (want %#x), error code %#x (want 0x1238)", e->intr_info,
          II(13, T_HW, 1), e->intr_error);
    CHECK(e->rip == pa(l2_gp_at), "exc: guest RIP at the faulting MOV to DS");
    l2_fixup();
    l2_done("exc #GP");
    /* The same #GP when L0 emulates the instruction for L2 (L0 owns CR4.VMXE,
     * L1 does not): L1's exception bitmap still decides. */
    if (!vm_setup(l2_gp_cr4, 0))
        return;
    vmw(F_CR4_MASK, 0);
    vmw(F_EXC_BITMAP, 1u << 13);
    e = l2_next(R_EXC_NMI, "exc: #GP of a MOV to CR4 L1 lets through, bitmap bit 13");
    CHECK(e->intr_info == II(13, T_HW, 1) && e->intr_error == 0 && e->rip == pa(l2_gpcr4_at),
          "exc: #GP(0) interruption information %#x at the MOV to CR4", e->intr_info);
    l2_fixup();
    l2_done("exc #GP of MOV to CR4");

    /* #PF: bit 14 with PFEC & mask == match decides (25.2). */
    pf_case(true, 0, 0, 7);             /* every #PF exits */
    pf_case(false, 0, 0, 0);            /* none does */
    pf_case(true, 2, 2, 6);             /* bit 14 = 1: writes (W set) exit */
    pf_case(false, 1, 1, 3);            /* bit 14 = 0: mismatch (P clear) exits */
    pf_case(false, 0, 0xffff, 7);       /* bit 14 = 0, never matches: all exit */
}

/* ---- CR0 / CR4 masks and shadows, CR3 ------------------------------------------------- */
#define TS (1ul << 3)
extern char l2_clts_at[], l2_cr0w_at[], l2_lmsw_at[], l2_cr4w_at[], l2_cr3w_at[], l2_cr3r_at[];
L2FN static void l2_cr0(uint64_t arg)
{
    uint64_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    out[0] = cr0;                               /* TS from the shadow (1) */
    __asm__ volatile("mov %0, %%cr0" :: "r"(cr0) : "memory");        /* same as the shadow: no exit */
    out[1] = 1;
    __asm__ volatile(GL(l2_clts_at) "clts" ::: "memory");
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    out[2] = cr0;
    __asm__ volatile(GL(l2_cr0w_at) "mov %%rbx, %%cr0" :: "b"(cr0 | TS) : "memory");
    __asm__ volatile(GL(l2_lmsw_at) "lmsw %%cx" :: "c"(cr0 & 0xf & ~TS) : "memory");
    uint64_t smsw;
    __asm__ volatile("smsw %0" : "=r"(smsw));
    out[3] = smsw;
}

L2FN static void l2_cr4(uint64_t arg)
{
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    out[0] = cr4;
    __asm__ volatile("mov %0, %%cr4" :: "r"(cr4) : "memory");
    out[1] = 1;
    __asm__ volatile(GL(l2_cr4w_at) "mov %%rdx, %%cr4" :: "d"(cr4 & ~4ul) : "memory");
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    out[2] = cr4;
}

L2FN static void l2_cr3(uint64_t arg)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    __asm__ volatile("mov %0, %%cr3" :: "r"(cr3) : "memory");          /* a CR3 target: no exit */
    out[0] = 1;
    __asm__ volatile(GL(l2_cr3w_at) "mov %%rdx, %%cr3" :: "d"(arg) : "memory");
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    out[1] = cr3;
}

L2FN static void l2_cr3_store(uint64_t arg)
{
    uint64_t cr3;
    __asm__ volatile(GL(l2_cr3r_at) "mov %%cr3, %%rsi" : "=S"(cr3));
    out[0] = cr3;
}

void t_cr(void)
{
    struct exit_info *e;
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_cr0, 0))
        return;
    uint64_t gcr0 = 0x80010033;                 /* TS clear in the real CR0 */
    vmw(F_CR0_MASK, TS);
    vmw(F_CR0_SHADOW, gcr0 | TS);
    /* CLTS exits when TS is in the mask and the shadow has TS = 1 (26.1.3). */
    e = l2_next(R_CR, "cr: CLTS with TS owned by L1 and shadow TS=1 exits");
    /* Table 28-3: CR number 3:0, access type 5:4 (0 to, 1 from, 2 CLTS, 3 LMSW),
     * LMSW operand type 6, register 11:8, LMSW source 31:16. */
    CHECK(e->qual == 0x20 && e->len == 2 && e->rip == pa(l2_clts_at), "cr: CLTS qualification %#lx (want 0x20), length %u",
          e->qual, e->len);
    CHECK(out[0] & TS, "cr: L2 read CR0.TS from the read shadow (%#lx)", out[0]);
    CHECK(out[1] == 1, "cr: MOV to CR0 with TS equal to the shadow did not exit");
    CHECK(!(vmr(F_G_CR0) & TS), "cr: ... and did not change the real CR0.TS (guest CR0 %#lx)", vmr(F_G_CR0));
    vmw(F_CR0_SHADOW, gcr0);
    skip_insn();
    e = l2_next(R_CR, "cr: MOV to CR0 setting TS (shadow TS=0) exits");
    CHECK(e->qual == 0x300 && e->len == 3 && e->rip == pa(l2_cr0w_at),
          "cr: MOV to CR0 from RBX qualification %#lx (want 0x300), length %u", e->qual, e->len);
    CHECK(l2r.rbx & TS, "cr: RBX holds L2's new CR0 (%#lx)", l2r.rbx);
    CHECK(!(out[2] & TS), "cr: after L1's CLTS emulation L2 reads TS=0 (%#lx)", out[2]);
    vmw(F_CR0_SHADOW, gcr0 | TS);
    skip_insn();
    e = l2_next(R_CR, "cr: LMSW clearing TS (shadow TS=1) exits");
    uint64_t lq = 0x30 | (((out[2] & 0xf & ~TS)) << 16);
    CHECK(e->qual == lq && e->len == 3 && e->rip == pa(l2_lmsw_at), "cr: LMSW qualification %#lx (want %#lx), length %u",
          e->qual, lq, e->len);
    skip_insn();
    l2_done("cr0");
    CHECK((out[3] & TS), "cr: SMSW reads TS from the shadow (%#lx)", out[3]);
    CHECK(!(vmr(F_G_CR0) & TS), "cr: the real CR0.TS stayed 0 (guest CR0 %#lx)", vmr(F_G_CR0));

    /* CR4: L1 owns VMXE (shadow 0) and TSD (shadow 1). */
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_cr4, 0))
        return;
    vmw(F_CR4_MASK, CR4_VMXE | 4);
    vmw(F_CR4_SHADOW, (1ul << 5) | 4);
    e = l2_next(R_CR, "cr: MOV to CR4 clearing TSD (owned, shadow 1) exits");
    CHECK(e->qual == (4 | (2 << 8)) && e->rip == pa(l2_cr4w_at), "cr: MOV to CR4 from RDX qualification %#lx (want 0x204)",
          e->qual);
    CHECK(!(out[0] & CR4_VMXE) && (out[0] & 4), "cr: L2 reads CR4 from the shadow: VMXE 0, TSD 1 (%#lx)", out[0]);
    CHECK(out[1] == 1, "cr: MOV to CR4 with the owned bits equal to the shadow did not exit");
    CHECK((vmr(F_G_CR4) & CR4_VMXE) && !(vmr(F_G_CR4) & 4), "cr: the real CR4 keeps VMXE=1, TSD=0 (%#lx)", vmr(F_G_CR4));
    vmw(F_CR4_SHADOW, 1ul << 5);
    skip_insn();
    l2_done("cr4");
    CHECK(!(out[2] & 4), "cr: L2 reads the new shadow TSD=0 (%#lx)", out[2]);

    /* CR3-load exiting with one CR3 target (26.1.3). */
    if (!skip_if(!(cap.proc1 & PROC_CR3_LOAD) || (cap.proc0 & PROC_CR3_STORE), "cr: CR3-load exiting alone not possible")) {
        memset((void *)out, 0, sizeof(out));
        if (!vm_setup(l2_cr3, pa(l2_pml4_copy)) || !set_proc(PROC_CR3_LOAD))
            return;
        vmw(F_CR3_TARGET_COUNT, 1);
        vmw(F_CR3_TARGET0, pa(l2_pml4));
        e = l2_next(R_CR, "cr: MOV to CR3 of a value not in the CR3-target list exits");
        CHECK(out[0] == 1, "cr: MOV to CR3 of the CR3-target value did not exit");
        CHECK(e->qual == (3 | (2 << 8)) && l2r.rdx == pa(l2_pml4_copy) && e->rip == pa(l2_cr3w_at),
              "cr: MOV to CR3 from RDX qualification %#lx (want 0x203), RDX %#lx", e->qual, l2r.rdx);
        vmw(F_G_CR3, l2r.rdx);
        skip_insn();
        l2_done("cr3 load");
        CHECK(out[1] == pa(l2_pml4_copy), "cr: L2 runs on the CR3 L1 loaded for it (%#lx)", out[1]);
    }
    if (!skip_if(!(cap.proc1 & PROC_CR3_STORE), "cr: no CR3-store exiting")) {
        memset((void *)out, 0, sizeof(out));
        if (!vm_setup(l2_cr3_store, 0) || !set_proc(PROC_CR3_STORE))
            return;
        e = l2_next(R_CR, "cr: CR3-store exiting: MOV from CR3 exits");
        CHECK(e->qual == (3 | (1 << 4) | (6 << 8)) && e->rip == pa(l2_cr3r_at),
              "cr: MOV from CR3 to RSI qualification %#lx (want 0x613)", e->qual);
        l2r.rsi = 0x12345000;
        skip_insn();
        l2_done("cr3 store");
        CHECK(out[0] == 0x12345000, "cr: L2 got L1's value for CR3 (%#lx)", out[0]);
    }
}

/* ---- VMX-preemption timer ----------------------------------------------------------------- */
extern char l2_spin_lo[], l2_spin_hi[];
L2FN static void l2_spin(uint64_t arg)
{
    __asm__ volatile(GL(l2_spin_lo) "1: inc %%rax\n\tjmp 1b\n\t" GL(l2_spin_hi) "nop" ::: "rax");
}

L2FN static void l2_hlt_long(uint64_t arg)
{
    __asm__ volatile("hlt" ::: "memory");
    out[0] = 1;
}

/* Stores the TSC after each port write L1 does not intercept (under a
 * hypervisor L0 handles each one without L1). */
static volatile uint64_t io_tsc_first, io_tsc_last;
L2FN static void l2_io_tsc(uint64_t arg)
{
    (void)arg;
    io_tsc_first = rdtsc();
    for (;;) {
        __asm__ volatile("outb %%al, $0x80" ::"a"(0) : "memory");
        io_tsc_last = rdtsc();
    }
}

void t_timer(void)
{
    if (skip_if(!(cap.pin1 & PIN_PREEMPT), "timer: no VMX-preemption timer"))
        return;
    if (!vm_setup(l2_spin, 0) || !set_pin(PIN_PREEMPT))
        return;
    /* Long enough for L2 to loop under a hypervisor too: the timer counts
     * the TSC, and L0's first fills of L2's mappings take TSC time. */
    vmw(F_PREEMPT_TIMER, 100000u >> (cap.misc & 0x1f));
    struct exit_info *e = l2_next(R_PREEMPT, "timer: the preemption timer ends L2's busy loop");
    CHECK(e->rip >= pa(l2_spin_lo) && e->rip < pa(l2_spin_hi), "timer: guest RIP in the loop (%#lx)", e->rip);
    CHECK(l2r.rax > 0, "timer: L2 ran before the timer fired (%lu iterations)", l2r.rax);
    /* Value 0: the exit comes before L2 executes any instruction (26.7.4). */
    if (!vm_setup(l2_spin, 0) || !set_pin(PIN_PREEMPT))
        return;
    vmw(F_PREEMPT_TIMER, 0);
    e = l2_next(R_PREEMPT, "timer: value 0 exits at once");
    extern char l2_entry[];
    CHECK(e->rip == pa(l2_entry), "timer: value 0: no L2 instruction ran (RIP %#lx, entry %#lx)", e->rip, pa(l2_entry));

    /* A timer longer than L0's own time slice (Nestor's is 2M TSC cycles)
     * still ends L2 after its full count, neither sooner nor never: under
     * Nestor, L0's new slice must not replace L1's remainder in vmcs02
     * (kvm-unit-tests' "preemption timer" busy-wait and HLT cases). */
    unsigned rate = cap.misc & 0x1f;
    const uint32_t long_val = 12000000u >> rate;
    if (!vm_setup(l2_spin, 0) || !set_pin(PIN_PREEMPT))
        return;
    vmw(F_PREEMPT_TIMER, long_val);
    uint64_t t0 = rdtsc();
    e = l2_next(R_PREEMPT, "timer: a timer longer than L0's slice ends L2's busy loop");
    uint64_t dt = rdtsc() - t0;
    CHECK(dt >= ((uint64_t)long_val << rate), "timer: the long timer ran its whole count (%lu TSC cycles, want >= %lu)",
          dt, (uint64_t)long_val << rate);
    out[0] = 0;
    if (!vm_setup(l2_hlt_long, 0) || !set_proc(0) || !set_pin(PIN_PREEMPT))
        return;
    vmw(F_PREEMPT_TIMER, long_val);
    t0 = rdtsc();
    e = l2_next(R_PREEMPT, "timer: a timer longer than L0's slice ends L2's HLT state");
    dt = rdtsc() - t0;
    CHECK(e->activity == 1 && dt >= ((uint64_t)long_val << rate),
          "timer: HLT state kept for the long timer's whole count (activity %lu, %lu TSC cycles)", e->activity, dt);
    set_pin(0);
    vmw(F_G_ACTIVITY, 0);
    l2_done("timer (long, HLT)");

    /* The timer counts the TSC, so time L0 spends on L2 exits L1 never
     * sees counts too: L2 never stores a TSC past the deadline (bit X of
     * the TSC, X the rate, changed `value` times since the entry; SDM
     * 26.5.1; kvm-unit-tests' vmx_preemption_timer_expiry_test). */
    const uint32_t io_val = 400000u >> rate;
    if (!vm_setup(l2_io_tsc, 0) || !set_pin(PIN_PREEMPT))
        return;
    vmw(F_PREEMPT_TIMER, io_val);
    e = l2_next(R_PREEMPT, "timer: ends L2's loop of uncounted port writes");
    uint64_t deadline = ((io_tsc_first >> rate) << rate) + ((uint64_t)io_val << rate);
    CHECK(io_tsc_last < deadline, "timer: L2's last stored TSC %lu is before the deadline %lu",
          io_tsc_last, deadline);
}

/* ---- interrupt-window exiting ------------------------------------------------------------- */
extern char l2_sti_after[];
L2FN static void l2_sti(uint64_t arg)
{
    out[0] = 1;
    __asm__ volatile("sti\n\tnop\n\t" GL(l2_sti_after) "nop\n\tcli" ::: "memory");
    out[1] = 1;
}

void t_intwin(void)
{
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_sti, 0) || !set_proc(PROC_INTR_WINDOW))
        return;
    /* The window opens after STI and the instruction STI blocks for. */
    struct exit_info *e = l2_next(R_INTR_WINDOW, "intwin: interrupt-window exiting once L2 sets IF");
    CHECK(out[0] == 1 && e->rip == pa(l2_sti_after), "intwin: exit after STI; NOP (RIP %#lx, want %#lx)", e->rip,
          pa(l2_sti_after));
    CHECK((e->rflags & 0x200) && !(e->interruptibility & 3), "intwin: L2 has IF=1, no STI/MOV-SS blocking (rflags %#lx, int %#lx)",
          e->rflags, e->interruptibility);
    /* What L1 does with the window: inject an external interrupt. */
    set_proc(0);
    vmw(F_ENTRY_INTR_INFO, II(0x40, T_EXT, 0));
    l2_done("intwin (interrupt injected in the window)");
    CHECK(l2_nev == 1 && l2_ev[0].vector == 0x40 && l2_ev[0].rip == pa(l2_sti_after),
          "intwin: L2 took vector 0x40 at the window (%u events, vector %#lx, rip %#lx)", l2_nev, l2_ev[0].vector,
          l2_ev[0].rip);
    /* IF=1 at VM entry: the exit is immediate (26.7.5). */
    memset((void *)out, 0, sizeof(out));
    if (!vm_setup(l2_sti, 0) || !set_proc(PROC_INTR_WINDOW))
        return;
    vmw(F_G_RFLAGS, 0x202);
    e = l2_next(R_INTR_WINDOW, "intwin: IF=1 at VM entry exits at once");
    extern char l2_entry[];
    CHECK(e->rip == pa(l2_entry) && out[0] == 0, "intwin: before any L2 instruction (RIP %#lx)", e->rip);
}

/* ---- event injection ---------------------------------------------------------------------- */
extern char l2_entry[], l2_int41_site[], l2_int3_site[];
__asm__(".text\n"
        ".globl l2_int41_site\nl2_int41_site: int $0x41\n\tjmp l2_entry\n"
        ".globl l2_int3_site\nl2_int3_site: int3\n\tjmp l2_entry\n");

L2FN static void l2_nothing(uint64_t arg)
{
    out[0]++;
}

static void inject(const char *what, uint32_t info, uint32_t err, uint32_t len, uint64_t rip, uint64_t rflags,
                   uint32_t exc_bitmap, uint64_t want_vec, uint64_t want_err, uint64_t want_rip)
{
    out[0] = 0;
    if (!vm_setup(l2_nothing, 0))
        return;
    vmw(F_EXC_BITMAP, exc_bitmap);
    vmw(F_ENTRY_INTR_INFO, info);
    vmw(F_ENTRY_EXC_ERROR, err);
    vmw(F_ENTRY_INSN_LEN, len);
    vmw(F_G_RIP, rip);
    vmw(F_G_RFLAGS, rflags);
    struct exit_info *e = l2_run();
    CHECK(is_done(e), "inject: %s: L2 ran to its end without another exit (%s)", what, E(e));
    CHECK(l2_nev == 1 && l2_ev[0].vector == want_vec && l2_ev[0].error == want_err && l2_ev[0].rip == want_rip &&
          l2_ev[0].cs == 0x08, "inject: %s: L2's handler got vector %#lx error %#lx rip %#lx (want %#lx %#lx %#lx; %u events)",
          what, l2_ev[0].vector, l2_ev[0].error, l2_ev[0].rip, want_vec, want_err, want_rip, l2_nev);
    CHECK(out[0] == 1, "inject: %s: L2 continued after its handler", what);
    CHECK(!(vmr(F_ENTRY_INTR_INFO) & 0x80000000u), "inject: %s: the VM exit cleared the valid bit of the "
          "VM-entry interruption information (%#lx)", what, vmr(F_ENTRY_INTR_INFO));
}

void t_inject(void)
{
    uint64_t e = pa(l2_entry);
    inject("#UD (hardware exception, no error code)", II(6, T_HW, 0), 0, 0, e, 2, 0, 6, 0, e);
    inject("#UD with exception bitmap bit 6 (injection is not intercepted)", II(6, T_HW, 0), 0, 0, e, 2, 1u << 6, 6, 0, e);
    inject("#GP with error code 0x1234", II(13, T_HW, 1), 0x1234, 0, e, 2, 0, 13, 0x1234, e);
    inject("INT 0x41 (software interrupt, length 2)", II(0x41, T_SWINT, 0), 0, 2, pa(l2_int41_site), 2, 0, 0x41, 0,
           pa(l2_int41_site) + 2);
    inject("#BP (software exception, length 1)", II(3, T_SWEXC, 0), 0, 1, pa(l2_int3_site), 2, 0, 3, 0,
           pa(l2_int3_site) + 1);
    inject("external interrupt 0x40 with IF=1", II(0x40, T_EXT, 0), 0, 0, e, 0x202, 0, 0x40, 0, e);
    CHECK(l2_ev[0].rflags & 0x200, "inject: the external interrupt's frame has IF=1 (%#lx)", l2_ev[0].rflags);
    inject("NMI", II(2, T_NMI, 0), 0, 0, e, 2, 0, 2, 0, e);
}

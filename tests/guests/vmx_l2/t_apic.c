/*
 * L1's local APIC while L2 runs (SDM Vol. 3, 26.2 and 28.2.2: external
 * interrupts in VMX non-root operation, "acknowledge interrupt on exit").
 * L1 arms its APIC timer and enters L2, which spins:
 *  - with external-interrupt exiting and acknowledge on exit, the timer
 *    interrupt is an exit to L1 with the vector, and the vector is in
 *    service in L1's APIC until L1 writes EOI;
 *  - without acknowledge, the exit has no vector and the interrupt stays
 *    pending in IRR until L1 takes it with interrupts enabled;
 *  - without external-interrupt exiting, L2 takes it through its own IDT
 *    (and L1's APIC has it in service).
 * L2's accesses to L1's APIC page reach L1's APIC: without EPT in vmcs12
 * (L2's guest-physical addresses are L1's) and through an EPT12 entry
 * that maps an L2 page onto it (the EPT output is L1's physical address,
 * SDM 29.3); an EPT12 entry without write permission makes L2's write an
 * EPT violation for L1 instead (kvm-unit-tests' vmx "interrupt" test
 * programs L1's timer from L2, and "EPT - MMIO access" reads it through
 * EPT12).
 * Under Nestor this is Nestor's emulated xAPIC; on the emulator's own VT-x
 * its real one.
 */
#include "l1.h"

#define APIC       0xfee00000ul
#define EOI        0x0b0
#define SPIV       0x0f0
#define ISR        0x100
#define IRR        0x200
#define LVT_TIMER  0x320
#define TMICT      0x380
#define LVR        0x030
#define TPR        0x080
#define TDCR       0x3e0
#define VEC        0x50
#define EXIT_ACK_INTR (1u << 15)

static uint32_t ar(unsigned reg) { return *(volatile uint32_t *)(APIC + reg); }
static void aw(unsigned reg, uint32_t v) { *(volatile uint32_t *)(APIC + reg) = v; }
static bool in_isr(void) { return ar(ISR + (VEC / 32) * 16) & (1u << (VEC % 32)); }
static bool in_irr(void) { return ar(IRR + (VEC / 32) * 16) & (1u << (VEC % 32)); }

static volatile unsigned l1_irqs;
static void l1_handler(unsigned vector)
{
    (void)vector;
    l1_irqs++;
    aw(EOI, 0);
}

/* Spins with IF=1.  External-interrupt exiting makes IF irrelevant to
 * the exit (SDM 26.2), but Bochs 2.7's own VT-x holds an APIC interrupt
 * back while the guest has IF=0, and the test must pass on both. */
extern char l2_aspin_lo[], l2_aspin_hi[];
L2FN static void l2_aspin(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("sti\n\t" GL(l2_aspin_lo) "1: pause\n\tjmp 1b\n\t" GL(l2_aspin_hi) "nop");
}

/* Waits with IF=1 until its own IDT has seen an event. */
L2FN static void l2_wait_irq(uint64_t arg)
{
    (void)arg;
    __asm__ volatile("sti" ::: "memory");
    while (!l2_nev)
        __asm__ volatile("pause");
    __asm__ volatile("cli" ::: "memory");
}

/* Reads the version register and writes TPR at base (an L2 address
 * of L1's APIC page). */
static volatile uint32_t l2_lvr;
L2FN static void l2_apic_rw(uint64_t base)
{
    l2_lvr = *(volatile uint32_t *)(base + LVR);
    *(volatile uint32_t *)(base + TPR) = 0x30;
}

static void apic_from_l2(void)
{
    uint32_t lvr = ar(LVR);
    const unsigned slot = 5;            /* an EPT12 test page (L2_TEST_GPA + 5 pages) */
    uint64_t at = L2_TEST_GPA + slot * 4096;

    /* No EPT in vmcs12: L2's 0xfee00000 is L1's. */
    aw(TPR, 0);
    l2_lvr = 0;
    if (!vm_setup(l2_apic_rw, APIC) || !vmw(F_PROC2, vmr(F_PROC2) & ~PROC2_EPT))
        return;
    l2_done("apic: L2 without EPT12 reads and writes L1's APIC page");
    CHECK(l2_lvr == lvr, "apic: L2 read L1's APIC version %#x (%#x)", lvr, l2_lvr);
    CHECK(ar(TPR) == 0x30, "apic: L2's write reached L1's TPR (%#x)", ar(TPR));

    /* EPT12 maps an L2 page onto L1's APIC page, read/write, UC. */
    aw(TPR, 0);
    l2_lvr = 0;
    if (!vm_setup(l2_apic_rw, at))
        return;
    ept_pt1[slot] = APIC | EPT_R | EPT_W;
    invept_single();
    l2_done("apic: L2 reads and writes L1's APIC through an EPT12 mapping");
    CHECK(l2_lvr == lvr, "apic: through EPT12 L2 read L1's APIC version %#x (%#x)", lvr, l2_lvr);
    CHECK(ar(TPR) == 0x30, "apic: through EPT12 L2's write reached L1's TPR (%#x)", ar(TPR));

    /* Read-only in EPT12: the write is an EPT violation for L1. */
    aw(TPR, 0);
    if (!vm_setup(l2_apic_rw, at))
        return;
    ept_pt1[slot] = APIC | EPT_R;
    invept_single();
    struct exit_info *e = l2_next(R_EPT_VIOLATION, "apic: L2's write to a read-only EPT12 mapping of the APIC page");
    CHECK(e->gpa == at + TPR && (e->qual & 0x3f) == 0x0a,
          "apic: EPT violation for the write at %#lx, readable (GPA %#lx, qualification %#lx)",
          at + TPR, e->gpa, e->qual);
    CHECK(ar(TPR) == 0, "apic: L1's TPR unchanged (%#x)", ar(TPR));
    ept_pt1[slot] = pa(tpages[slot]) | EPT_RWX | EPT_WB;
    invept_single();
}

void t_apic(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    if (skip_if(!(r[3] & (1u << 9)), "apic: no local APIC"))
        return;
    rt_set_irq_handler(VEC, l1_handler);
    aw(SPIV, 0x1ff);
    aw(TDCR, 0xb);
    aw(LVT_TIMER, VEC);

    /* External-interrupt exiting, acknowledged on exit. */
    if (!vm_setup(l2_aspin, 0) || !set_pin(PIN_EXT_INT))
        return;
    vmw(F_EXIT_CTLS, vmr(F_EXIT_CTLS) | EXIT_ACK_INTR);
    aw(TMICT, 200000);
    struct exit_info *e = l2_next(R_EXT_INT, "apic: L1's timer interrupts L2: external-interrupt exit");
    CHECK(e->intr_info == (0x80000000u | VEC), "apic: acknowledged on exit: vector %#x in the exit information (%#x)",
          VEC, e->intr_info);
    CHECK(e->rip >= pa(l2_aspin_lo) && e->rip < pa(l2_aspin_hi), "apic: L2 was in its loop (RIP %#lx)", e->rip);
    CHECK(in_isr() && !in_irr(), "apic: the acknowledge put the vector in service in L1's APIC");
    aw(EOI, 0);
    CHECK(!in_isr() && l1_irqs == 0, "apic: L1's EOI ends it; L1's handler never ran");

    /* Without acknowledge: no vector, the interrupt stays pending for L1. */
    if (!vm_setup(l2_aspin, 0) || !set_pin(PIN_EXT_INT))
        return;
    aw(TMICT, 200000);
    e = l2_next(R_EXT_INT, "apic: without acknowledge on exit: external-interrupt exit");
    CHECK(!(e->intr_info & 0x80000000u), "apic: no vector in the exit information (%#x)", e->intr_info);
    CHECK(in_irr() && !in_isr(), "apic: the vector waits in L1's IRR");
    rt_sti();
    __asm__ volatile("nop");
    rt_cli();
    CHECK(l1_irqs == 1 && !in_irr() && !in_isr(), "apic: L1 takes it through its IDT once it sets IF (%u)", l1_irqs);

    /* No external-interrupt exiting: L2 takes it. */
    l2_nev = 0;
    if (!vm_setup(l2_wait_irq, 0))
        return;
    aw(TMICT, 200000);
    l2_done("apic: L2 waits with IF=1 for an interrupt");
    CHECK(l2_nev == 1 && l2_ev[0].vector == VEC, "apic: L2's IDT got L1's timer vector (%u events, vector %#lx)",
          l2_nev, l2_ev[0].vector);
    CHECK(in_isr() && l1_irqs == 1, "apic: in service in L1's APIC, not seen by L1's IDT");
    aw(EOI, 0);
    aw(LVT_TIMER, 0x10000 | VEC);

    apic_from_l2();
    aw(TPR, 0);
    aw(SPIV, 0xff);
}

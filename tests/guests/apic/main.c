/*
 * apic: the emulated local APIC (xAPIC at 0xfee00000), the way
 * kvm-unit-tests' boot code and its APIC test use it: ID and version,
 * software enable through SPIV, self-IPIs taken through the IDT with EOI,
 * IRR/ISR/PPR and TPR masking (MMIO and CR8), ESR's write-before-read
 * rule, the error LVT, one-shot and periodic timers (the current count
 * falls, the expiry interrupts, a masked LVT does not, HLT is woken), the
 * divide configuration, kvm-unit-tests' INIT/SIPI broadcast with one CPU,
 * access forms with different registers, sizes and addressing modes, and
 * IA32_APIC_BASE (global disable and re-enable, relocation).
 *
 * Bad-input modes (the domain must be killed, see test_apic.py):
 *   args=bad-insn         an OR to the APIC page: not a MOV the hv decodes
 *   args=disabled-access  a read of the page after the global disable
 *   args=init-self        an INIT IPI to itself (resetting a vCPU is not emulated)
 */
#include "rt.h"

#define APIC        0xfee00000ul
#define ALT_APIC    0xfed40000ul
#define ID          0x020
#define VERSION     0x030
#define TPR         0x080
#define APR         0x090
#define PPR         0x0a0
#define EOI         0x0b0
#define LDR         0x0d0
#define DFR         0x0e0
#define SPIV        0x0f0
#define ISR         0x100
#define IRR         0x200
#define ESR         0x280
#define ICR_LO      0x300
#define ICR_HI      0x310
#define LVT_TIMER   0x320
#define LVT_LINT0   0x350
#define LVT_ERROR   0x370
#define TMICT       0x380
#define TMCCT       0x390
#define TDCR        0x3e0

#define SELF        (1u << 18)
#define ALL_BUT     (3u << 18)
#define ASSERT      (1u << 14)
#define MASKED      (1u << 16)
#define PERIODIC    (1u << 17)

static uintptr_t apic_base = APIC;

static uint32_t apic_read(unsigned reg) { return *(volatile uint32_t *)(apic_base + reg); }
static void apic_write(unsigned reg, uint32_t v) { *(volatile uint32_t *)(apic_base + reg) = v; }
static bool vec_bit(unsigned base, unsigned v) { return apic_read(base + (v / 32) * 16) & (1u << (v % 32)); }
static uint32_t esr(void) { apic_write(ESR, 0); return apic_read(ESR); }

static uint64_t rdmsr(uint32_t msr) { uint64_t v = 0; rdmsr_safe(msr, &v); return v; }
static void pause_for(uint64_t cycles) { uint64_t t = rdtsc(); while (rdtsc() - t < cycles) __asm__ volatile("pause"); }

/* Interrupts seen, in order, with what the APIC said inside the handler. */
static volatile unsigned nr_seen;
static volatile unsigned seen[32];
static volatile bool isr_in_handler, ppr_in_handler;
static volatile uint64_t last_tsc;

static void handler(unsigned vector)
{
    isr_in_handler = vec_bit(ISR, vector);
    ppr_in_handler = (apic_read(PPR) & 0xf0) == (vector & 0xf0);
    if (nr_seen < 32)
        seen[nr_seen] = vector;
    nr_seen++;
    last_tsc = rdtsc();
    apic_write(EOI, 0);
}

static void reset_seen(void) { nr_seen = 0; isr_in_handler = ppr_in_handler = false; }

static bool wait_seen(unsigned n, uint64_t timeout)
{
    uint64_t t = rdtsc();
    while (nr_seen < n && rdtsc() - t < timeout)
        __asm__ volatile("pause");
    return nr_seen >= n;
}

static void test_identity(void)
{
    uint32_t r[4];
    cpuid(1, 0, r);
    CHECK(r[3] & (1u << 9), "CPUID.1:EDX.APIC set");
    CHECK(!(r[2] & (1u << 21)) && !(r[2] & (1u << 24)), "no x2APIC, no TSC deadline in CPUID.1:ECX");
    uint64_t base = rdmsr(0x1b);
    CHECK(base == (APIC | (1u << 11) | (1u << 8)), "IA32_APIC_BASE %#lx: 0xfee00000, enabled, BSP", base);
    CHECK(apic_read(ID) >> 24 == r[1] >> 24, "APIC ID %#x matches CPUID's initial APIC ID", apic_read(ID) >> 24);
    uint32_t ver = apic_read(VERSION);
    CHECK((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15 && ((ver >> 16) & 0xff) == 5,
          "version %#x: integrated APIC, max LVT entry 5", ver);
    CHECK(apic_read(SPIV) == 0xff && apic_read(DFR) == 0xffffffff && apic_read(TPR) == 0,
          "reset state: SPIV 0xff (software disabled), DFR all ones, TPR 0");
    CHECK(apic_read(LVT_TIMER) == MASKED && apic_read(LVT_ERROR) == MASKED, "reset state: LVTs masked");
    apic_write(LVT_LINT0, 0x700);
    CHECK(apic_read(LVT_LINT0) == (MASKED | 0x700), "software disabled: an LVT stays masked when written");
    apic_write(SPIV, 0x1ff);
    CHECK(apic_read(SPIV) == 0x1ff, "software enable through SPIV");
    apic_write(LVT_LINT0, 0x700 | MASKED);
    apic_write(LDR, 0x01000000);
    CHECK(apic_read(LDR) == 0x01000000, "LDR write/read back");
}

static void test_self_ipi(void)
{
    for (unsigned v = 0x40; v < 0xf0; v += 0x10)
        rt_set_irq_handler(v + 1, handler), rt_set_irq_handler(v + 2, handler), rt_set_irq_handler(v + 5, handler);
    reset_seen();
    rt_sti();
    apic_write(ICR_HI, 0);
    apic_write(ICR_LO, SELF | ASSERT | 0x41);
    unsigned n = nr_seen;           /* delivered before the next instruction */
    rt_cli();
    CHECK(n == 1 && seen[0] == 0x41, "self-IPI (shorthand self) taken at once through the IDT (%u)", n);
    CHECK(isr_in_handler && ppr_in_handler, "in the handler: ISR bit set, PPR at its class");
    CHECK(!vec_bit(ISR, 0x41) && !vec_bit(IRR, 0x41) && apic_read(PPR) == 0, "after EOI: ISR, IRR clear, PPR 0");
    CHECK(!(apic_read(ICR_LO) & (1u << 12)), "ICR delivery status reads idle");

    /* Interrupts off: it waits in IRR. */
    reset_seen();
    apic_write(ICR_LO, ASSERT | 0x42);              /* physical destination = own ID 0 */
    CHECK(vec_bit(IRR, 0x42) && !vec_bit(ISR, 0x42) && nr_seen == 0, "with IF=0 a self-IPI waits in IRR");
    apic_write(ICR_LO, (2u << 18) | ASSERT | 0x92); /* all including self */
    apic_write(ICR_HI, 0xff000000);
    apic_write(ICR_LO, ASSERT | 0x55);              /* physical broadcast */
    CHECK(vec_bit(IRR, 0x92) && vec_bit(IRR, 0x55), "all-including-self and broadcast reach this CPU");
    rt_sti();
    __asm__ volatile("nop");
    rt_cli();
    CHECK(nr_seen == 3 && seen[0] == 0x92 && seen[1] == 0x55 && seen[2] == 0x42,
          "taken highest priority first after STI (%#x %#x %#x)", seen[0], seen[1], seen[2]);
    apic_write(ICR_HI, 0);

    /* Logical destination, flat model. */
    reset_seen();
    apic_write(ICR_HI, 0x03000000);
    apic_write(ICR_LO, (1u << 11) | ASSERT | 0x61);
    apic_write(ICR_HI, 0x02000000);
    apic_write(ICR_LO, (1u << 11) | ASSERT | 0x62);
    CHECK(vec_bit(IRR, 0x61) && !vec_bit(IRR, 0x62), "logical flat destination: matching mask only");
    rt_sti();
    __asm__ volatile("nop");
    rt_cli();
    apic_write(ICR_HI, 0);
}

static void test_tpr(void)
{
    reset_seen();
    apic_write(TPR, 0x60);
    CHECK(apic_read(PPR) == 0x60, "PPR follows TPR (%#x)", apic_read(PPR));
    rt_sti();
    apic_write(ICR_LO, SELF | ASSERT | 0x55);
    pause_for(20000);
    CHECK(nr_seen == 0 && vec_bit(IRR, 0x55), "a vector below TPR stays pending in IRR");
    CHECK(apic_read(APR) == 0x60, "APR is TPR while it dominates (%#x)", apic_read(APR));
    apic_write(TPR, 0x40);
    unsigned n = nr_seen;
    CHECK(n == 1 && seen[0] == 0x55, "lowering TPR delivers it (%u)", n);
    apic_write(TPR, 0);
    /* The same through CR8 = TPR[7:4]. */
    reset_seen();
    __asm__ volatile("mov %0, %%cr8" :: "r"(7ul));
    CHECK(apic_read(TPR) == 0x70, "CR8 7 writes TPR 0x70 (%#x)", apic_read(TPR));
    apic_write(TPR, 0x85);
    uint64_t cr8;
    __asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
    CHECK(cr8 == 8, "CR8 reads TPR[7:4] (%lu)", cr8);
    apic_write(ICR_LO, SELF | ASSERT | 0x72);
    pause_for(20000);
    CHECK(nr_seen == 0, "a vector below the CR8 priority waits");
    __asm__ volatile("mov %0, %%cr8" :: "r"(0ul));
    n = nr_seen;
    CHECK(n == 1 && seen[0] == 0x72, "CR8 0 delivers it (%u)", n);
    rt_cli();
}

static void test_esr(void)
{
    reset_seen();
    esr();
    apic_write(ICR_LO, SELF | ASSERT | 0x05);       /* illegal vector */
    CHECK(apic_read(ESR) == 0, "ESR reads the value latched by the last write (still 0)");
    apic_write(ESR, 0);
    CHECK(apic_read(ESR) == (1u << 5), "after a write: send illegal vector (%#x)", apic_read(ESR));
    apic_write(ESR, 0);
    CHECK(apic_read(ESR) == 0, "the next write clears it");
    CHECK(apic_read(0x400) == 0 && esr() == (1u << 7), "reserved offset reads 0: illegal register address");
    rt_set_irq_handler(0xe3, handler);
    apic_write(LVT_ERROR, 0xe3);
    rt_sti();
    apic_write(ICR_LO, SELF | ASSERT | 0x0f);
    rt_cli();
    CHECK(nr_seen == 1 && seen[0] == 0xe3 && esr() == (1u << 5), "the error LVT interrupts on an APIC error");
    apic_write(LVT_ERROR, MASKED | 0xe3);
}

static void test_timer(void)
{
    rt_set_irq_handler(0xee, handler);
    rt_set_irq_handler(0xd0, handler);
    /* One-shot, divide by 1. */
    reset_seen();
    apic_write(TDCR, 0xb);
    apic_write(LVT_TIMER, 0xee);
    uint64_t t0 = rdtsc();
    apic_write(TMICT, 200000);
    uint32_t c1 = apic_read(TMCCT);
    uint32_t c2 = apic_read(TMCCT);
    CHECK(c1 <= 200000 && c2 < c1 && c1 > 150000, "current count falls (%u then %u)", c1, c2);
    rt_sti();
    bool got = wait_seen(1, 50000000);
    rt_cli();
    CHECK(got && seen[0] == 0xee && last_tsc - t0 >= 200000, "one-shot expiry interrupts after >= 200000 TSC (%lu)",
          last_tsc - t0);
    CHECK(apic_read(TMCCT) == 0 && apic_read(TMICT) == 200000, "one-shot stops at 0, initial count kept");
    pause_for(400000);
    CHECK(nr_seen == 1, "one-shot fires once");

    /* HLT is woken by the timer. */
    reset_seen();
    t0 = rdtsc();
    apic_write(TMICT, 300000);
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    CHECK(nr_seen == 1 && rdtsc() - t0 >= 300000, "HLT woken by the timer interrupt (%lu cycles)", rdtsc() - t0);

    /* Divide by 16. */
    apic_write(TDCR, 0x3);
    uint64_t ta = rdtsc();
    apic_write(LVT_TIMER, MASKED | 0xee);
    apic_write(TMICT, 100000);
    uint64_t tb = rdtsc();
    pause_for(32000);
    uint64_t tc = rdtsc();
    uint32_t c = apic_read(TMCCT);
    uint64_t td = rdtsc();
    uint64_t lo = (tc - tb) / 16, hi = (td - ta) / 16 + 1;
    CHECK(c <= 100000 - lo && c >= 100000 - hi, "divide by 16: %u counts left after %lu-%lu cycles", 100000 - c,
          tc - tb, td - ta);
    apic_write(TMICT, 0);
    CHECK(apic_read(TMCCT) == 0, "initial count 0 stops the timer");

    /* Masked: the count runs out, no interrupt. */
    reset_seen();
    apic_write(TDCR, 0xb);
    apic_write(TMICT, 1000);
    rt_sti();
    pause_for(100000);
    rt_cli();
    CHECK(nr_seen == 0 && apic_read(TMCCT) == 0, "masked LVT: expiry without interrupt");

    /* Periodic. */
    reset_seen();
    apic_write(LVT_TIMER, PERIODIC | 0xd0);
    t0 = rdtsc();
    apic_write(TMICT, 100000);
    rt_sti();
    got = wait_seen(5, 50000000);
    rt_cli();
    uint64_t el = last_tsc - t0;
    uint32_t cc = apic_read(TMCCT);
    /* Stop it before printing (a printed line costs more than a period),
     * and take an interrupt that may already be pending. */
    apic_write(TMICT, 0);
    __asm__ volatile("sti; nop; cli" ::: "memory");
    unsigned n = nr_seen;
    CHECK(got && el >= 500000, "periodic: 5 interrupts in %lu cycles (>= 500000)", el);
    CHECK(cc > 0 && cc <= 100000, "periodic: the count reloads (%u)", cc);
    rt_sti();
    pause_for(300000);
    rt_cli();
    CHECK(nr_seen == n, "stopped periodic timer is quiet");
    apic_write(LVT_TIMER, MASKED);
}

/* kvm-unit-tests' smp_init: INIT then SIPI to all but self, with the
 * C7 (mov imm32 to memory) form. */
static void test_init_sipi(void)
{
    uintptr_t a = apic_base;
    __asm__ volatile("movl $0x000c4500, 0x300(%0)\n\tmovl $0x000c4600, 0x300(%0)" :: "r"(a) : "memory");
    CHECK(true, "INIT and SIPI broadcast to all-but-self with one CPU: accepted, nobody to start");
    apic_write(ICR_LO, SELF | (1u << 15) | 0x500);  /* INIT level de-assert */
    apic_write(ICR_LO, SELF | ASSERT | 0x608);      /* SIPI to a CPU not waiting for one */
    CHECK(esr() == 0, "INIT de-assert and a SIPI to itself are ignored, no error");
}

static void test_access_forms(void)
{
    uintptr_t a = apic_base;
    uint64_t r = 0, x = 0;
    /* 16-bit load: the rest of the register stays. */
    r = 0x1111222233334444ull;
    __asm__ volatile("movw 0x30(%1), %w0" : "+r"(r) : "r"(a));
    CHECK(r == 0x1111222233330014ull, "66 8B: 16-bit load keeps bits 63:16 (%#lx)", r);
    /* 64-bit load: bytes 4-7 of the slot read 0. */
    __asm__ volatile("movq 0x30(%1), %0" : "=r"(r) : "r"(a));
    CHECK(r == apic_read(VERSION), "REX.W 8B: 64-bit load (%#lx)", r);
    /* 32-bit load into r12 with base r13 + index r14 * 8 + disp8. */
    __asm__ volatile("mov %1, %%r13\n\tmov $2, %%r14\n\tmovl 0x20(%%r13,%%r14,8), %%r12d\n\tmov %%r12, %0"
                     : "=r"(r) : "r"(a) : "r12", "r13", "r14");
    CHECK(r == apic_read(VERSION), "REX 8B with SIB (r13 + r14*8 + 0x20) into r12d (%#lx)", r);
    /* disp32 and a 32-bit load clearing bits 63:32. */
    r = ~0ull;
    __asm__ volatile("movl 0x000000f0(%1), %k0" : "+r"(r) : "r"(a));
    CHECK(r == 0x1ff, "8B with disp32 zero-extends (%#lx)", r);
    /* movabs forms (A1/A3). */
    __asm__ volatile("movabs 0xfee00030, %%eax" : "=a"(x));
    CHECK(x == apic_read(VERSION), "A1: movabs load from moffs64 (%#lx)", x);
    __asm__ volatile("movabs %%eax, 0xfee00080" :: "a"(0x30u) : "memory");
    CHECK(apic_read(TPR) == 0x30, "A3: movabs store to TPR");
    /* Segment override prefixes (DS, and FS with a zero base). */
    __asm__ volatile(".byte 0x3e\n\tmovl (%1), %k0" : "=r"(r) : "r"(a + TPR));
    CHECK(r == 0x30, "DS-prefixed load (%#lx)", r);
    if (rdmsr(0xc0000100) == 0) {
        __asm__ volatile("movl %%fs:(%1), %k0" : "=r"(r) : "r"(a + TPR));
        CHECK(r == 0x30, "FS-prefixed load (%#lx)", r);
    }
    /* C7 store with SIB and disp8; 89 store from a REX register. */
    __asm__ volatile("movl $0x20, 0x10(%0,%1,1)" :: "r"(a), "r"(0x70ul) : "memory");
    CHECK(apic_read(TPR) == 0x20, "C7 /0 imm32 store with SIB + disp8");
    __asm__ volatile("mov %0, %%r9\n\tmov %1, %%r10\n\tmovl %%r9d, (%%r10)" :: "r"(0x10ul), "r"(a + TPR)
                     : "r9", "r10", "memory");
    CHECK(apic_read(TPR) == 0x10, "89 store of r9d through r10");
    /* An 8-byte store is not a 32-bit register write: ignored. */
    __asm__ volatile("movq %0, (%1)" :: "r"(0x4040ul), "r"(a + TPR) : "memory");
    CHECK(apic_read(TPR) == 0x10, "8-byte store ignored (TPR %#x)", apic_read(TPR));
    apic_write(TPR, 0);
}

static void test_apic_base(void)
{
    uint64_t orig = rdmsr(0x1b);
    uint32_t ver = apic_read(VERSION), r[4];
    CHECK(wrmsr_safe(0x1b, orig | 1) == 13, "IA32_APIC_BASE reserved bit 0 -> #GP");
    CHECK(wrmsr_safe(0x1b, orig | (1u << 10)) == 13, "x2APIC enable -> #GP (not offered)");
    CHECK(wrmsr_safe(0x1b, (1u << 11) | 0x100000) == 13, "a base over the domain's RAM -> #GP");
    CHECK(rdmsr_safe(0x802, &(uint64_t){ 0 }) == 13, "x2APIC MSR 0x802 -> #GP");
    /* Global disable: CPUID drops the APIC flag; re-enable gives the reset state. */
    apic_write(TPR, 0x20);
    CHECK(wrmsr_safe(0x1b, orig & ~(1ull << 11)) == -1, "global disable accepted");
    cpuid(1, 0, r);
    CHECK(!(rdmsr(0x1b) & (1u << 11)) && !(r[3] & (1u << 9)), "disabled: MSR bit 11 and CPUID.1:EDX.APIC clear");
    CHECK(wrmsr_safe(0x1b, orig) == -1, "re-enabled");
    cpuid(1, 0, r);
    CHECK((r[3] & (1u << 9)) && apic_read(VERSION) == ver, "CPUID.1:EDX.APIC back, registers visible again");
    CHECK(apic_read(SPIV) == 0xff && apic_read(TPR) == 0 && apic_read(LVT_TIMER) == MASKED,
          "global disable reset the APIC (SPIV 0xff, TPR 0, LVT masked)");
    /* Relocation. */
    CHECK(wrmsr_safe(0x1b, ALT_APIC | (1u << 11) | (1u << 8)) == -1, "relocated to %#lx", ALT_APIC);
    apic_base = ALT_APIC;
    CHECK(apic_read(VERSION) == ver, "version register at the new base");
    apic_write(SPIV, 0x1ff);
    CHECK(apic_read(SPIV) == 0x1ff, "SPIV written at the new base");
    CHECK(wrmsr_safe(0x1b, orig) == -1, "moved back");
    apic_base = APIC;
    CHECK(apic_read(SPIV) == 0x1ff, "same APIC state at the default base");
}

void test_main(void)
{
    if (rt_arg_flag("bad-insn")) {
        apic_write(SPIV, 0x1ff);
        __asm__ volatile("orl $0, (%0)" :: "r"(APIC + TPR) : "memory");
        rt_check(false, "an OR to the APIC page was emulated");
        return;
    }
    if (rt_arg_flag("disabled-access")) {
        wrmsr_safe(0x1b, rdmsr(0x1b) & ~(1ull << 11));
        rt_printf("read at %#lx after the global disable\n", APIC + VERSION);
        rt_check(false, "read of the hidden APIC page returned %#x", apic_read(VERSION));
        return;
    }
    if (rt_arg_flag("init-self")) {
        apic_write(ICR_LO, SELF | ASSERT | 0x500);
        rt_check(false, "an INIT to itself returned");
        return;
    }
    test_identity();
    test_self_ipi();
    test_tpr();
    test_esr();
    test_timer();
    test_init_sipi();
    test_access_forms();
    test_apic_base();
}

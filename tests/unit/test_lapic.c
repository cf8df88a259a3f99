/* hv/lapic.c: the xAPIC register file, priorities (TPR/PPR/APR), IRR ->
 * ISR acceptance and EOI, ESR, the ICR's deliveries with one CPU, the
 * timer's count arithmetic and modes, IA32_APIC_BASE rules, access sizes
 * (Intel SDM Vol. 3, chapter "Advanced Programmable Interrupt Controller"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lapic.h"

static struct lapic l;
static const uint64_t T0 = 1000000;     /* a TSC value */

static int setup(void **state)
{
    (void)state;
    memset(&l, 0x5a, sizeof(l));        /* init must not depend on prior contents */
    lapic_init(&l, 0, true);
    return 0;
}

static uint32_t rd(unsigned off) { return (uint32_t)lapic_mmio_read(&l, off, 4, T0); }
static uint32_t rd_at(unsigned off, uint64_t now) { return (uint32_t)lapic_mmio_read(&l, off, 4, now); }
static void wr(unsigned off, uint32_t val) { assert_null(lapic_mmio_write(&l, off, 4, val, T0)); }
static void wr_at(unsigned off, uint32_t val, uint64_t now) { assert_null(lapic_mmio_write(&l, off, 4, val, now)); }
static bool irr(unsigned v) { return rd(LAPIC_IRR + (v / 32) * 16) & (1u << (v % 32)); }
static bool isr(unsigned v) { return rd(LAPIC_ISR + (v / 32) * 16) & (1u << (v % 32)); }
static void enable(void) { wr(LAPIC_SPIV, 0x1ff); }
static uint32_t esr(void) { wr(LAPIC_ESR, 0); return rd(LAPIC_ESR); }

static void reset_state(void **state)
{
    (void)state;
    assert_int_equal(l.base_msr, 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    assert_int_equal(rd(LAPIC_ID), 0);
    assert_int_equal(rd(LAPIC_VERSION), 0x00050014);        /* version 0x14, max LVT 5 */
    assert_int_equal(rd(LAPIC_SPIV), 0xff);                 /* software disabled */
    assert_int_equal(rd(LAPIC_DFR), 0xffffffff);
    assert_int_equal(rd(LAPIC_TPR), 0);
    assert_int_equal(rd(LAPIC_PPR), 0);
    for (unsigned off = LAPIC_LVT_TIMER; off <= LAPIC_LVT_ERROR; off += 16)
        assert_int_equal(rd(off), LVT_MASKED);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rd(LAPIC_IRR + 16 * i) | rd(LAPIC_ISR + 16 * i) | rd(LAPIC_TMR + 16 * i), 0);
    assert_int_equal(rd(LAPIC_TIMER_CCR), 0);
    struct lapic ap;
    lapic_init(&ap, 3, false);
    assert_int_equal(ap.base_msr, 0xfee00000 | APIC_BASE_ENABLE);
    assert_int_equal((uint32_t)lapic_mmio_read(&ap, LAPIC_ID, 4, 0), 3u << 24);
}

static void writable_bits(void **state)
{
    (void)state;
    wr(LAPIC_ID, 0x12345678);
    assert_int_equal(rd(LAPIC_ID), 0x12000000);
    wr(LAPIC_LDR, 0xffffffff);
    assert_int_equal(rd(LAPIC_LDR), 0xff000000);
    wr(LAPIC_DFR, 0);
    assert_int_equal(rd(LAPIC_DFR), 0x0fffffff);
    wr(LAPIC_TPR, 0xffffffff);
    assert_int_equal(rd(LAPIC_TPR), 0xff);
    wr(LAPIC_SPIV, 0xffffffff);
    assert_int_equal(rd(LAPIC_SPIV), 0x3ff);                /* no EOI-broadcast suppression */
    wr(LAPIC_ICR_HI, 0xffffffff);
    assert_int_equal(rd(LAPIC_ICR_HI), 0xff000000);
    wr(LAPIC_TIMER_DCR, 0xffffffff);
    assert_int_equal(rd(LAPIC_TIMER_DCR), 0xb);
    /* LVTs: the SDM's fields only; bit 18 (TSC deadline) is reserved. */
    wr(LAPIC_LVT_TIMER, 0xffffffff);
    assert_int_equal(rd(LAPIC_LVT_TIMER), 0x000300ff);
    wr(LAPIC_LVT_LINT0, 0xffffffff);
    assert_int_equal(rd(LAPIC_LVT_LINT0), 0x0001a7ff);
    wr(LAPIC_LVT_ERROR, 0xffffffff);
    assert_int_equal(rd(LAPIC_LVT_ERROR), 0x000100ff);
    wr(LAPIC_LVT_THERMAL, 0xffffffff);
    assert_int_equal(rd(LAPIC_LVT_THERMAL), 0x000107ff);
    /* Read-only registers ignore writes, without an error. */
    wr(LAPIC_VERSION, 0);
    wr(LAPIC_PPR, 0x55);
    wr(LAPIC_IRR, 0xffffffff);
    wr(LAPIC_TIMER_CCR, 5);
    assert_int_equal(rd(LAPIC_VERSION), 0x00050014);
    assert_int_equal(rd(LAPIC_IRR), 0);
    assert_int_equal(esr(), 0);
}

static void software_disable_masks_lvts(void **state)
{
    (void)state;
    /* Disabled: an LVT cannot be unmasked. */
    wr(LAPIC_LVT_TIMER, 0x40);
    assert_int_equal(rd(LAPIC_LVT_TIMER), LVT_MASKED | 0x40);
    enable();
    wr(LAPIC_LVT_TIMER, 0x40);
    wr(LAPIC_LVT_LINT1, 0x400);
    assert_int_equal(rd(LAPIC_LVT_TIMER), 0x40);
    /* Disabling masks every LVT; IRR/ISR are kept. */
    assert_true(lapic_accept(&l, 0x50));
    wr(LAPIC_SPIV, 0xff);
    assert_int_equal(rd(LAPIC_LVT_TIMER), LVT_MASKED | 0x40);
    assert_int_equal(rd(LAPIC_LVT_LINT1), LVT_MASKED | 0x400);
    assert_true(irr(0x50));
    assert_int_equal(lapic_pending(&l), 0x50);
}

static void priorities_and_acceptance(void **state)
{
    (void)state;
    enable();
    assert_int_equal(lapic_pending(&l), -1);
    assert_int_equal(lapic_ack(&l), -1);
    lapic_accept(&l, 0x41);
    lapic_accept(&l, 0x82);
    assert_true(irr(0x41) && irr(0x82));
    /* Highest first; acknowledging moves it to ISR and PPR follows. */
    assert_int_equal(lapic_ack(&l), 0x82);
    assert_false(irr(0x82));
    assert_true(isr(0x82));
    assert_int_equal(rd(LAPIC_PPR), 0x80);
    /* 0x41 is in a lower class than the one in service: held. */
    assert_int_equal(lapic_pending(&l), -1);
    /* A higher class nests. */
    lapic_accept(&l, 0x90);
    assert_int_equal(lapic_ack(&l), 0x90);
    assert_int_equal(rd(LAPIC_PPR), 0x90);
    /* Same class as in service: held too. */
    lapic_accept(&l, 0x9f);
    assert_int_equal(lapic_pending(&l), -1);
    /* APR (P6 rule): max class of TPR, IRR, ISR. */
    assert_int_equal(rd(LAPIC_APR), 0x90);
    /* EOI clears the highest ISR bit only. */
    wr(LAPIC_EOI, 0);
    assert_false(isr(0x90));
    assert_true(isr(0x82));
    assert_int_equal(lapic_pending(&l), 0x9f);
    assert_int_equal(lapic_ack(&l), 0x9f);
    wr(LAPIC_EOI, 0);
    wr(LAPIC_EOI, 0);
    assert_int_equal(rd(LAPIC_PPR), 0);
    assert_int_equal(lapic_ack(&l), 0x41);
    wr(LAPIC_EOI, 0);
    wr(LAPIC_EOI, 0);                   /* nothing in service: no effect */
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rd(LAPIC_ISR + 16 * i) | rd(LAPIC_IRR + 16 * i), 0);
}

static void tpr_masking(void **state)
{
    (void)state;
    enable();
    wr(LAPIC_TPR, 0x50);
    assert_int_equal(rd(LAPIC_PPR), 0x50);
    lapic_accept(&l, 0x55);                 /* class 5 = TPR class: held */
    assert_int_equal(lapic_pending(&l), -1);
    assert_int_equal(rd(LAPIC_APR), 0x50);
    lapic_accept(&l, 0x61);
    assert_int_equal(lapic_pending(&l), 0x61);
    assert_int_equal(lapic_ack(&l), 0x61);
    /* PPR = ISR class when above TPR; TPR when not. */
    assert_int_equal(rd(LAPIC_PPR), 0x60);
    wr(LAPIC_EOI, 0);
    assert_int_equal(rd(LAPIC_PPR), 0x50);
    wr(LAPIC_TPR, 0x4f);
    assert_int_equal(rd(LAPIC_PPR), 0x4f);
    assert_int_equal(lapic_pending(&l), 0x55);
    /* CR8 is TPR[7:4]. */
    lapic_set_cr8(&l, 0xa);
    assert_int_equal(rd(LAPIC_TPR), 0xa0);
    assert_int_equal(lapic_cr8(&l), 0xa);
    assert_int_equal(lapic_pending(&l), -1);
    lapic_set_cr8(&l, 0);
    assert_int_equal(lapic_pending(&l), 0x55);
}

static void illegal_vectors_and_esr(void **state)
{
    (void)state;
    enable();
    /* Vectors 0-15 are never accepted (receive illegal vector). */
    assert_false(lapic_accept(&l, 15));
    assert_true(lapic_accept(&l, 16));
    /* ESR reads what the last write latched: write before read. */
    assert_int_equal(rd(LAPIC_ESR), 0);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), ESR_RECV_ILLEGAL_VECTOR);
    assert_int_equal(rd(LAPIC_ESR), ESR_RECV_ILLEGAL_VECTOR);
    wr(LAPIC_ESR, 0);
    assert_int_equal(rd(LAPIC_ESR), 0);
    /* Sending an illegal vector. */
    wr(LAPIC_ICR_LO, 0x00040005);           /* self, fixed, vector 5 */
    assert_int_equal(esr(), ESR_SEND_ILLEGAL_VECTOR);
    assert_false(irr(5));
    /* Reserved registers: read 0, writes ignored, illegal register address. */
    assert_int_equal(rd(0x2f0), 0);         /* no CMCI LVT with max LVT 5 */
    assert_int_equal(esr(), ESR_ILLEGAL_REGISTER);
    wr(0x400, 1);
    wr(0x010, 1);
    assert_int_equal(rd(0x400) | rd(0x010), 0);
    assert_int_equal(esr(), ESR_ILLEGAL_REGISTER);
    /* With the error LVT unmasked, an error is also an interrupt. */
    wr(LAPIC_LVT_ERROR, 0xe3);
    wr(LAPIC_ICR_LO, 0x00040001);
    assert_true(irr(0xe3));
    assert_int_equal(esr(), ESR_SEND_ILLEGAL_VECTOR);
    /* An illegal error vector itself only records that. */
    wr(LAPIC_LVT_ERROR, 0x03);
    rd(0x800);
    assert_int_equal(esr(), ESR_ILLEGAL_REGISTER | ESR_RECV_ILLEGAL_VECTOR);
}

static void icr_deliveries(void **state)
{
    (void)state;
    enable();
    /* Self shorthand, all-including-self, physical own ID, broadcast: self. */
    wr(LAPIC_ICR_LO, 0x00044031);
    assert_true(irr(0x31));
    assert_int_equal(rd(LAPIC_ICR_LO), 0x00044031);     /* delivery status 0: idle */
    wr(LAPIC_ICR_LO, 0x00084032);
    assert_true(irr(0x32));
    wr(LAPIC_ICR_HI, 0);
    wr(LAPIC_ICR_LO, 0x00004033);
    assert_true(irr(0x33));
    wr(LAPIC_ICR_HI, 0xff000000);
    wr(LAPIC_ICR_LO, 0x00004034);
    assert_true(irr(0x34));
    /* Another physical ID, all-excluding-self: nobody. */
    wr(LAPIC_ICR_HI, 0x01000000);
    wr(LAPIC_ICR_LO, 0x00004035);
    wr(LAPIC_ICR_LO, 0x000c4036);
    assert_false(irr(0x35) || irr(0x36));
    /* Logical flat: LDR bit set in the mask; cluster: same cluster. */
    wr(LAPIC_LDR, 0x02000000);
    wr(LAPIC_ICR_HI, 0x03000000);
    wr(LAPIC_ICR_LO, 0x00004837);
    assert_true(irr(0x37));
    wr(LAPIC_ICR_HI, 0x04000000);
    wr(LAPIC_ICR_LO, 0x00004838);
    assert_false(irr(0x38));
    wr(LAPIC_DFR, 0x0fffffff);
    wr(LAPIC_LDR, 0x21000000);
    wr(LAPIC_ICR_HI, 0x23000000);
    wr(LAPIC_ICR_LO, 0x00004839);
    assert_true(irr(0x39));
    wr(LAPIC_ICR_HI, 0x13000000);
    wr(LAPIC_ICR_LO, 0x0000483a);
    assert_false(irr(0x3a));
    /* Lowest priority to self is fixed to self. */
    wr(LAPIC_ICR_LO, 0x0004413b);
    assert_true(irr(0x3b));
    /* kvm-unit-tests' smp_init: INIT and SIPI to all but self: dropped. */
    assert_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x000c4500, T0));
    assert_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x000c4600, T0));
    /* SIPI to itself is ignored; INIT de-assert is a no-op; INIT, NMI
     * and SMI to itself cannot be emulated. */
    assert_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x00044608, T0));
    assert_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x00048500, T0));
    assert_non_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x00044500, T0));
    assert_non_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x00044400, T0));
    assert_non_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x00044200, T0));
    assert_null(lapic_mmio_write(&l, LAPIC_ICR_LO, 4, 0x000c4400, T0));   /* NMI to nobody */
    assert_int_equal(esr(), 0);
}

static void timer_divisor(void **state)
{
    (void)state;
    assert_int_equal(lapic_timer_divisor(0x0), 2);
    assert_int_equal(lapic_timer_divisor(0x1), 4);
    assert_int_equal(lapic_timer_divisor(0x2), 8);
    assert_int_equal(lapic_timer_divisor(0x3), 16);
    assert_int_equal(lapic_timer_divisor(0x8), 32);
    assert_int_equal(lapic_timer_divisor(0x9), 64);
    assert_int_equal(lapic_timer_divisor(0xa), 128);
    assert_int_equal(lapic_timer_divisor(0xb), 1);
    assert_int_equal(lapic_timer_divisor(0x4), 2);          /* bit 2 is not part of it */
}

static void timer_one_shot(void **state)
{
    (void)state;
    enable();
    wr(LAPIC_LVT_TIMER, 0xee);
    wr(LAPIC_TIMER_DCR, 0xb);                           /* divide by 1 */
    wr_at(LAPIC_TIMER_ICR, 1000, T0);
    assert_int_equal(rd_at(LAPIC_TIMER_ICR, T0), 1000);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0), 1000);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 1), 999);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 999), 1);
    assert_int_equal(lapic_timer_next(&l), T0 + 1000);
    assert_false(irr(0xee));
    lapic_timer_advance(&l, T0 + 999);
    assert_false(irr(0xee));
    lapic_timer_advance(&l, T0 + 1000);
    assert_true(irr(0xee));
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 1000), 0);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    /* Divide by 16: 100 counts take 1600 cycles. */
    lapic_ack(&l);
    wr(LAPIC_EOI, 0);
    wr(LAPIC_TIMER_DCR, 0x3);
    wr_at(LAPIC_TIMER_ICR, 100, T0);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 15), 100);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 16), 99);
    assert_int_equal(lapic_timer_next(&l), T0 + 1600);
    /* A new divisor keeps the counts counted: 10 counted, 90 left at 1/1. */
    wr_at(LAPIC_TIMER_DCR, 0xb, T0 + 160);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 160), 90);
    assert_int_equal(lapic_timer_next(&l), T0 + 250);
    /* Writing 0 stops it. */
    wr_at(LAPIC_TIMER_ICR, 0, T0 + 200);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 300), 0);
    lapic_timer_advance(&l, T0 + 1000000);
    assert_false(irr(0xee));
}

static void timer_periodic(void **state)
{
    (void)state;
    enable();
    wr(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xd0);
    wr(LAPIC_TIMER_DCR, 0x0);                           /* divide by 2 */
    wr_at(LAPIC_TIMER_ICR, 50, T0);                     /* period 100 cycles */
    assert_int_equal(lapic_timer_next(&l), T0 + 100);
    lapic_timer_advance(&l, T0 + 100);
    assert_true(irr(0xd0));
    assert_int_equal(lapic_timer_next(&l), T0 + 200);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 100), 50);   /* reloaded */
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 130), 35);
    /* Missed periods: one interrupt, the next period in phase. */
    assert_int_equal(lapic_ack(&l), 0xd0);
    wr(LAPIC_EOI, 0);
    lapic_timer_advance(&l, T0 + 1050);
    assert_true(irr(0xd0));
    assert_int_equal(lapic_timer_next(&l), T0 + 1100);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 1050), 25);
    /* Masked: no interrupt, no deadline, but the count still runs. */
    assert_int_equal(lapic_ack(&l), 0xd0);
    wr(LAPIC_EOI, 0);
    wr_at(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_PERIODIC | 0xd0, T0 + 1050);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
    lapic_timer_advance(&l, T0 + 5000);
    assert_false(irr(0xd0));
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 5010), 45);
    /* Software disable hides the deadline too. */
    wr_at(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xd0, T0 + 5010);
    assert_int_equal(lapic_timer_next(&l), T0 + 5100);
    wr(LAPIC_SPIV, 0xff);
    assert_int_equal(lapic_timer_next(&l), LAPIC_NEVER);
}

/* kvm-unit-tests' apic test_apic_change_mode: the mode decides only what
 * the next expiry does. */
static void timer_mode_changes(void **state)
{
    (void)state;
    enable();
    wr(LAPIC_TIMER_DCR, 0xb);
    wr(LAPIC_LVT_TIMER, 0xee);
    wr_at(LAPIC_TIMER_ICR, 1000, T0);
    /* One-shot -> periodic halfway: keeps counting, then reloads. */
    wr_at(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xee, T0 + 600);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 600), 400);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 1100), 900);
    /* Periodic -> one-shot: counts down to 0 and stays. */
    wr_at(LAPIC_LVT_TIMER, 0xee, T0 + 1600);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 1600), 400);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 2000), 0);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 9000), 0);
    /* Expired one-shot -> periodic: stays at 0. */
    wr_at(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xee, T0 + 9000);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 9500), 0);
    assert_int_equal(rd_at(LAPIC_TIMER_ICR, T0 + 9500), 1000);
    /* An expiry that happened before a mode change used the old mode. */
    wr_at(LAPIC_LVT_TIMER, 0xee, T0 + 10000);
    wr_at(LAPIC_TIMER_ICR, 100, T0 + 10000);
    wr_at(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xee, T0 + 10500);
    assert_int_equal(rd_at(LAPIC_TIMER_CCR, T0 + 10500), 0);
}

static void apic_base_msr(void **state)
{
    (void)state;
    uint64_t ram = 32 << 20;
    uint64_t base = l.base_msr;
    /* Reserved: bits 0-7, 9, 10 (x2APIC), at or above MAXPHYADDR. */
    assert_false(lapic_set_base(&l, base | 1, 39, ram));
    assert_false(lapic_set_base(&l, base | BIT(9), 39, ram));
    assert_false(lapic_set_base(&l, base | APIC_BASE_EXTD, 39, ram));
    assert_false(lapic_set_base(&l, base | (1ull << 39), 39, ram));
    assert_true(lapic_set_base(&l, base | (1ull << 38), 39, ram));
    /* Not over the domain's RAM. */
    assert_false(lapic_set_base(&l, 0x1000 | APIC_BASE_ENABLE, 39, ram));
    assert_true(lapic_set_base(&l, ram | APIC_BASE_ENABLE, 39, ram));
    assert_int_equal(lapic_base(&l), ram);
    assert_true(l.base_msr & APIC_BASE_BSP);                /* BSP is read-only */
    assert_true(lapic_set_base(&l, 0xfed40000 | APIC_BASE_ENABLE, 39, ram));
    assert_int_equal(l.base_msr, 0xfed40000 | APIC_BASE_ENABLE | APIC_BASE_BSP);
    /* Global disable resets the registers; re-enable keeps the reset state. */
    enable();
    wr(LAPIC_ID, 0x07000000);
    wr(LAPIC_TPR, 0x30);
    wr(LAPIC_LVT_TIMER, 0x40);
    wr_at(LAPIC_TIMER_ICR, 100, T0);
    lapic_accept(&l, 0x80);
    assert_true(lapic_set_base(&l, 0xfee00000 | APIC_BASE_BSP, 39, ram));
    assert_false(lapic_hw_enabled(&l));
    assert_false(lapic_accept(&l, 0x81));                   /* no APIC, no interrupts */
    assert_int_equal(lapic_pending(&l), -1);
    assert_true(lapic_set_base(&l, 0xfee00000 | APIC_BASE_ENABLE, 39, ram));
    assert_int_equal(rd(LAPIC_ID), 0);
    assert_int_equal(rd(LAPIC_TPR), 0);
    assert_int_equal(rd(LAPIC_SPIV), 0xff);
    assert_int_equal(rd(LAPIC_LVT_TIMER), LVT_MASKED);
    assert_int_equal(rd(LAPIC_TIMER_ICR), 0);
    assert_false(irr(0x80));
}

static void access_sizes(void **state)
{
    (void)state;
    wr(LAPIC_TPR, 0x000000a5);
    wr(LAPIC_ID, 0xab000000);
    /* Sub-word reads inside the register; bytes 4-15 of a slot read 0. */
    assert_int_equal(lapic_mmio_read(&l, LAPIC_TPR, 1, T0), 0xa5);
    assert_int_equal(lapic_mmio_read(&l, LAPIC_ID + 3, 1, T0), 0xab);
    assert_int_equal(lapic_mmio_read(&l, LAPIC_ID + 2, 2, T0), 0xab00);
    assert_int_equal(lapic_mmio_read(&l, LAPIC_VERSION, 8, T0), 0x00050014);
    assert_int_equal(lapic_mmio_read(&l, LAPIC_VERSION + 4, 4, T0), 0);
    /* Only aligned 32-bit stores write. */
    assert_null(lapic_mmio_write(&l, LAPIC_TPR, 2, 0x10, T0));
    assert_null(lapic_mmio_write(&l, LAPIC_TPR + 4, 4, 0x10, T0));
    assert_null(lapic_mmio_write(&l, LAPIC_TPR, 8, 0x10, T0));
    assert_int_equal(rd(LAPIC_TPR), 0xa5);
    assert_int_equal(esr(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(reset_state, setup),
        cmocka_unit_test_setup(writable_bits, setup),
        cmocka_unit_test_setup(software_disable_masks_lvts, setup),
        cmocka_unit_test_setup(priorities_and_acceptance, setup),
        cmocka_unit_test_setup(tpr_masking, setup),
        cmocka_unit_test_setup(illegal_vectors_and_esr, setup),
        cmocka_unit_test_setup(icr_deliveries, setup),
        cmocka_unit_test_setup(timer_divisor, setup),
        cmocka_unit_test_setup(timer_one_shot, setup),
        cmocka_unit_test_setup(timer_periodic, setup),
        cmocka_unit_test_setup(timer_mode_changes, setup),
        cmocka_unit_test_setup(apic_base_msr, setup),
        cmocka_unit_test_setup(access_sizes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

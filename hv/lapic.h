/* The local APIC of a vCPU, in xAPIC mode (Intel SDM Vol. 3, chapter
 * "Advanced Programmable Interrupt Controller (APIC)").
 *
 * Pure: the register file, interrupt acceptance (IRR, ISR, TPR, PPR, EOI),
 * the ICR's self-deliveries and the timer arithmetic.  Time is passed in as
 * the guest's TSC; nothing here reads the VMCS or the clock, so all of it
 * is unit-tested on the host (tests/unit/test_lapic.c).  The hv drives it
 * from exit_apic.c (MMIO exits), exit_msr.c (IA32_APIC_BASE), exit_cr.c
 * (CR8), vcpu.c (delivery into the guest) and sched.c (timer wake-ups).
 *
 * What is modelled and what is not (docs/DESIGN.md, "Local APIC"):
 *  - version 0x14, 6 LVT entries (max LVT 5): timer, thermal, performance
 *    counters, LINT0, LINT1, error.  No CMCI entry, no EOI-broadcast
 *    suppression, no x2APIC, no TSC-deadline mode (CPUID says so).
 *  - The timer counts at the TSC rate divided by the divide configuration.
 *  - One vCPU per domain: the ICR reaches this APIC or nobody.  Fixed and
 *    lowest-priority IPIs to itself are accepted; INIT and SIPI that reach
 *    nobody are dropped, a SIPI to itself is ignored (it is not waiting for
 *    one); NMI, SMI and INIT to itself are refused (LAPIC_UNSUPPORTED).
 *  - Only edge-triggered interrupts exist (no I/O APIC, nothing on LINT0/1):
 *    TMR stays zero, EOI broadcasts nothing.  No spurious interrupts.
 */
#ifndef HV_LAPIC_H
#define HV_LAPIC_H

#include "lib.h"

#define LAPIC_DEFAULT_BASE      0xfee00000ull
#define LAPIC_PAGE_SIZE         4096ull
#define APIC_BASE_BSP           BIT(8)
#define APIC_BASE_EXTD          BIT(10)     /* x2APIC mode: not offered */
#define APIC_BASE_ENABLE        BIT(11)     /* global enable */
#define APIC_BASE_ADDR_MASK     (~0xfffull)

#define LAPIC_VERSION_VALUE     0x00050014u /* max LVT entry 5, version 0x14 */
#define LAPIC_NEVER             UINT64_MAX  /* no timer interrupt ahead */

/* Register offsets within the 4 KiB page (SDM Table "Local APIC Register
 * Address Map"); each register is 32 bits at a 16-byte boundary. */
enum {
    LAPIC_ID = 0x020, LAPIC_VERSION = 0x030, LAPIC_TPR = 0x080, LAPIC_APR = 0x090,
    LAPIC_PPR = 0x0a0, LAPIC_EOI = 0x0b0, LAPIC_RRD = 0x0c0, LAPIC_LDR = 0x0d0,
    LAPIC_DFR = 0x0e0, LAPIC_SPIV = 0x0f0, LAPIC_ISR = 0x100, LAPIC_TMR = 0x180,
    LAPIC_IRR = 0x200, LAPIC_ESR = 0x280, LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_THERMAL = 0x330, LAPIC_LVT_PERF = 0x340,
    LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_ICR = 0x380, LAPIC_TIMER_CCR = 0x390, LAPIC_TIMER_DCR = 0x3e0,
};

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LAPIC_NR_LVT };

#define LVT_MASKED              BIT(16)
#define LVT_TIMER_PERIODIC      BIT(17)
#define SPIV_APIC_ENABLED       BIT(8)

/* Error status register bits (SDM "Error Status Register"). */
#define ESR_SEND_ILLEGAL_VECTOR     BIT(5)
#define ESR_RECV_ILLEGAL_VECTOR     BIT(6)
#define ESR_ILLEGAL_REGISTER        BIT(7)

/* ICR low fields. */
#define ICR_VECTOR(lo)          ((lo) & 0xff)
#define ICR_DELIVERY(lo)        (((lo) >> 8) & 7)
#define ICR_LOGICAL             BIT(11)
#define ICR_BUSY                BIT(12)
#define ICR_ASSERT              BIT(14)
#define ICR_LEVEL               BIT(15)
#define ICR_SHORTHAND(lo)       (((lo) >> 18) & 3)
enum { ICR_DM_FIXED, ICR_DM_LOWEST, ICR_DM_SMI, ICR_DM_RSVD3, ICR_DM_NMI, ICR_DM_INIT,
       ICR_DM_SIPI, ICR_DM_RSVD7 };
enum { ICR_DEST_FIELD, ICR_DEST_SELF, ICR_DEST_ALL_INC, ICR_DEST_ALL_EXC };

struct lapic {
    uint64_t base_msr;          /* IA32_APIC_BASE */
    uint8_t initial_id;         /* CPUID.1:EBX[31:24]; the ID after reset */
    uint32_t id, tpr, ldr, dfr, spiv;
    uint32_t esr;               /* what a read returns: latched by the last write */
    uint32_t esr_pending;       /* errors since that write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LAPIC_NR_LVT];
    uint32_t irr[8], isr[8], tmr[8];    /* 256 bits each, vector v in word v/32 */
    uint32_t timer_icr, timer_dcr;
    bool timer_running;         /* counting down (current count > 0) */
    uint64_t timer_start;       /* TSC at which the current count was timer_icr */
};

/* Power-up state: enabled at the default base (software-disabled until the
 * guest sets SPIV bit 8), ID `id`, BSP flag as given. */
void lapic_init(struct lapic *l, uint8_t id, bool bsp);

static inline bool lapic_hw_enabled(const struct lapic *l) { return l->base_msr & APIC_BASE_ENABLE; }
static inline bool lapic_sw_enabled(const struct lapic *l) { return l->spiv & SPIV_APIC_ENABLED; }
static inline uint64_t lapic_base(const struct lapic *l) { return l->base_msr & APIC_BASE_ADDR_MASK; }

/* WRMSR IA32_APIC_BASE.  False means #GP: reserved bits (0-7, 9, x2APIC
 * mode bit 10, bits at or above maxphyaddr), or a base whose page would
 * cover the domain's RAM [0, ram_bytes) (Nestor's constraint: the APIC
 * page is never RAM).  Clearing the enable bit resets the APIC (the SDM
 * allows it; so do KVM and real CPUs) and hides the page; BSP is read-only. */
bool lapic_set_base(struct lapic *l, uint64_t val, unsigned maxphyaddr, uint64_t ram_bytes);

/* MMIO access at page offset `off` of `size` bytes (1, 2, 4 or 8) at guest
 * TSC `now`.  Registers are 32 bits at 16-byte boundaries: a read returns
 * the bytes of the register the access covers (bytes 4-15 of a slot read
 * as 0); a write takes effect only as an aligned 32-bit store to the
 * start of a slot (other forms are undefined in the SDM: ignored here).
 * Reserved offsets read 0, ignore writes and set ESR "illegal register
 * address".  A write returns NULL, or why it cannot be emulated. */
uint64_t lapic_mmio_read(struct lapic *l, unsigned off, unsigned size, uint64_t now);
const char *lapic_mmio_write(struct lapic *l, unsigned off, unsigned size, uint32_t val, uint64_t now);

/* An edge-triggered fixed interrupt arrives (Nestor's virtual interrupts,
 * self-IPIs, LVT sources).  Vectors 0-15 are illegal: ESR "receive illegal
 * vector", nothing is accepted.  A globally disabled APIC accepts nothing. */
bool lapic_accept(struct lapic *l, unsigned vector);

/* Processor priority (SDM "Processor Priority Register"). */
uint8_t lapic_ppr(const struct lapic *l);
/* The vector the APIC presents to the CPU: the highest in IRR whose
 * priority class is above PPR's, or -1. */
int lapic_pending(const struct lapic *l);
/* The CPU acknowledges it: IRR -> ISR.  Returns the vector or -1. */
int lapic_ack(struct lapic *l);
/* EOI: clears the highest ISR bit. */
void lapic_eoi(struct lapic *l);
/* CR8 is TPR[7:4] (SDM "Interaction of Task Priorities between CR8 and
 * APIC"); a CR8 write clears TPR[3:0]. */
void lapic_set_cr8(struct lapic *l, uint8_t cr8);
static inline uint8_t lapic_cr8(const struct lapic *l) { return (uint8_t)(l->tpr >> 4); }

/* Timer: brings the count to `now`, raising the LVT timer interrupt for an
 * expiry (several missed periods raise one interrupt, as one IRR bit
 * would hold them anyway). */
void lapic_timer_advance(struct lapic *l, uint64_t now);
/* The TSC of the next expiry that raises an interrupt, or LAPIC_NEVER
 * (stopped, masked, or the APIC disabled). */
uint64_t lapic_timer_next(const struct lapic *l);
/* Counts per TSC cycle divisor from the divide configuration register. */
unsigned lapic_timer_divisor(uint32_t dcr);

#endif

/* The local APIC model (xAPIC), pure; see lapic.h for what it covers. */
#include "lapic.h"

/* Writable bits of each LVT entry (SDM "Local Vector Table"): timer has
 * vector, mask and mode bit 17 (bit 18 is reserved without TSC-deadline);
 * thermal and perf add the delivery mode; LINT0/1 add polarity and
 * trigger mode; error has vector and mask.  Delivery status (bit 12) and
 * remote IRR (bit 14) are read-only and always 0 here. */
static const uint32_t lvt_writable[LAPIC_NR_LVT] = {
    [LVT_TIMER] = 0x000300ff, [LVT_THERMAL] = 0x000107ff, [LVT_PERF] = 0x000107ff,
    [LVT_LINT0] = 0x0001a7ff, [LVT_LINT1] = 0x0001a7ff, [LVT_ERROR] = 0x000100ff,
};

/* ---- 256-bit vector sets ---------------------------------------------------- */

static void vec_set(uint32_t set[8], unsigned v) { set[v / 32] |= 1u << (v % 32); }
static void vec_clear(uint32_t set[8], unsigned v) { set[v / 32] &= ~(1u << (v % 32)); }

/* Highest vector in the set, or -1. */
static int vec_highest(const uint32_t set[8])
{
    for (int w = 7; w >= 0; w--)
        if (set[w])
            return w * 32 + 31 - __builtin_clz(set[w]);
    return -1;
}

/* ---- reset and enable ------------------------------------------------------- */

/* Register state after power-up or reset (SDM "Local APIC State After
 * Power-Up or Reset"): everything 0, DFR all ones, SPIV 0xff (software
 * disabled), every LVT masked, ID the initial one. */
static void reset_registers(struct lapic *l)
{
    uint64_t base = l->base_msr;
    uint8_t id = l->initial_id;
    memset(l, 0, sizeof(*l));
    l->base_msr = base;
    l->initial_id = id;
    l->id = (uint32_t)id << 24;
    l->dfr = 0xffffffff;
    l->spiv = 0xff;
    for (unsigned i = 0; i < LAPIC_NR_LVT; i++)
        l->lvt[i] = LVT_MASKED;
}

void lapic_init(struct lapic *l, uint8_t id, bool bsp)
{
    l->initial_id = id;
    l->base_msr = LAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP : 0);
    reset_registers(l);
}

bool lapic_set_base(struct lapic *l, uint64_t val, unsigned maxphyaddr, uint64_t ram_bytes)
{
    uint64_t reserved = 0xffull | BIT(9) | APIC_BASE_EXTD;
    if (maxphyaddr < 64)
        reserved |= ~0ull << maxphyaddr;
    if (val & reserved)
        return false;
    uint64_t base = val & APIC_BASE_ADDR_MASK;
    if (base < ram_bytes)
        return false;       /* the page would hide RAM */
    bool was = lapic_hw_enabled(l);
    l->base_msr = base | (val & APIC_BASE_ENABLE) | (l->base_msr & APIC_BASE_BSP);
    if (was && !lapic_hw_enabled(l))
        reset_registers(l);
    return true;
}

/* ---- priorities and acceptance ---------------------------------------------- */

uint8_t lapic_ppr(const struct lapic *l)
{
    int isrv = vec_highest(l->isr);
    unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isr_class ? (uint8_t)l->tpr : (uint8_t)isr_class;
}

/* Arbitration priority as the SDM defines it for P6-family APICs (newer
 * ones list the register without using it for arbitration). */
static uint8_t apr(const struct lapic *l)
{
    int irrv = vec_highest(l->irr), isrv = vec_highest(l->isr);
    unsigned tpr_c = l->tpr & 0xf0;
    unsigned irr_c = irrv < 0 ? 0 : (unsigned)irrv & 0xf0;
    unsigned isr_c = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
    if (tpr_c >= irr_c && tpr_c > isr_c)
        return (uint8_t)l->tpr;
    return (uint8_t)MAX(tpr_c, MAX(irr_c, isr_c));
}

int lapic_pending(const struct lapic *l)
{
    int v = vec_highest(l->irr);
    if (v < 0 || ((unsigned)v & 0xf0) <= (lapic_ppr(l) & 0xf0u))
        return -1;
    return v;
}

int lapic_ack(struct lapic *l)
{
    int v = lapic_pending(l);
    if (v >= 0) {
        vec_clear(l->irr, (unsigned)v);
        vec_set(l->isr, (unsigned)v);
    }
    return v;
}

void lapic_eoi(struct lapic *l)
{
    int v = vec_highest(l->isr);
    if (v >= 0) {
        vec_clear(l->isr, (unsigned)v);
        vec_clear(l->tmr, (unsigned)v);     /* a level interrupt would EOI the I/O APIC: none */
    }
}

void lapic_set_cr8(struct lapic *l, uint8_t cr8)
{
    l->tpr = (uint32_t)(cr8 & 0xf) << 4;
}

/* Records an error; with the error LVT unmasked it is also an interrupt
 * (SDM "Error Handling").  An illegal error vector only records that. */
static void apic_error(struct lapic *l, uint32_t bits)
{
    l->esr_pending |= bits;
    uint32_t lvt = l->lvt[LVT_ERROR];
    if (!(lvt & LVT_MASKED) && lapic_sw_enabled(l)) {
        if ((lvt & 0xff) < 16)
            l->esr_pending |= ESR_RECV_ILLEGAL_VECTOR;
        else
            vec_set(l->irr, lvt & 0xff);
    }
}

bool lapic_accept(struct lapic *l, unsigned vector)
{
    if (!lapic_hw_enabled(l) || vector > 255)
        return false;
    if (vector < 16) {
        apic_error(l, ESR_RECV_ILLEGAL_VECTOR);
        return false;
    }
    vec_set(l->irr, vector);
    return true;
}

/* A local source (LVT entry) signals: masked entries and a software
 * disabled APIC deliver nothing. */
static void lvt_fire(struct lapic *l, unsigned which)
{
    uint32_t lvt = l->lvt[which];
    if ((lvt & LVT_MASKED) || !lapic_sw_enabled(l))
        return;
    lapic_accept(l, lvt & 0xff);
}

/* ---- timer ------------------------------------------------------------------ */

unsigned lapic_timer_divisor(uint32_t dcr)
{
    /* Bits 0, 1 and 3: 0b111 divides by 1, n otherwise by 2^(n+1). */
    unsigned n = (dcr & 3) | ((dcr >> 1) & 4);
    return n == 7 ? 1 : 2u << n;
}

static uint64_t timer_period(const struct lapic *l)
{
    return (uint64_t)l->timer_icr * lapic_timer_divisor(l->timer_dcr);
}

void lapic_timer_advance(struct lapic *l, uint64_t now)
{
    if (!l->timer_running || now < l->timer_start)
        return;
    uint64_t period = timer_period(l), elapsed = now - l->timer_start;
    if (elapsed < period)
        return;
    /* The mode in force at expiry decides: periodic reloads the initial
     * count, one-shot stops at 0.  Changing the mode while counting only
     * changes what the next expiry does (as on hardware). */
    if (l->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC)
        l->timer_start += elapsed / period * period;
    else
        l->timer_running = false;
    lvt_fire(l, LVT_TIMER);
}

uint64_t lapic_timer_next(const struct lapic *l)
{
    if (!l->timer_running || !lapic_hw_enabled(l) || !lapic_sw_enabled(l) ||
        (l->lvt[LVT_TIMER] & LVT_MASKED))
        return LAPIC_NEVER;
    return l->timer_start + timer_period(l);
}

static uint32_t timer_ccr(struct lapic *l, uint64_t now)
{
    lapic_timer_advance(l, now);
    if (!l->timer_running)
        return 0;
    uint64_t counted = (now - l->timer_start) / lapic_timer_divisor(l->timer_dcr);
    return (uint32_t)(l->timer_icr - counted);
}

static void timer_set_icr(struct lapic *l, uint32_t val, uint64_t now)
{
    lapic_timer_advance(l, now);
    l->timer_icr = val;
    l->timer_running = val != 0;
    l->timer_start = now;
}

/* A new divisor applies from now on: the counts already counted stay. */
static void timer_set_dcr(struct lapic *l, uint32_t val, uint64_t now)
{
    lapic_timer_advance(l, now);
    uint32_t dcr = val & 0xb;
    if (l->timer_running) {
        uint64_t counted = (now - l->timer_start) / lapic_timer_divisor(l->timer_dcr);
        l->timer_start = now - counted * lapic_timer_divisor(dcr);
    }
    l->timer_dcr = dcr;
}

/* ---- the ICR ---------------------------------------------------------------- */

/* Does the destination field name this APIC?  Physical: its ID or the
 * broadcast 0xff.  Logical: flat model (DFR 0xf) ANDs the 8-bit masks,
 * cluster model (DFR 0x0) compares the cluster and ANDs the low nibble. */
static bool dest_is_self(const struct lapic *l, uint8_t dest, bool logical)
{
    if (dest == 0xff)
        return true;
    if (!logical)
        return dest == (uint8_t)(l->id >> 24);
    uint8_t ldr = (uint8_t)(l->ldr >> 24);
    if ((l->dfr >> 28) == 0xf)
        return (ldr & dest) != 0;
    return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
}

static const char *send_ipi(struct lapic *l)
{
    uint32_t lo = l->icr_lo;
    unsigned sh = ICR_SHORTHAND(lo), mode = ICR_DELIVERY(lo), vec = ICR_VECTOR(lo);
    bool self = sh == ICR_DEST_SELF || sh == ICR_DEST_ALL_INC ||
                (sh == ICR_DEST_FIELD && dest_is_self(l, (uint8_t)(l->icr_hi >> 24), lo & ICR_LOGICAL));

    switch (mode) {
    case ICR_DM_FIXED:
    case ICR_DM_LOWEST:     /* the only candidate is the lowest priority one */
        if (vec < 16) {
            apic_error(l, ESR_SEND_ILLEGAL_VECTOR);
            return NULL;
        }
        if (self)
            lapic_accept(l, vec);
        return NULL;
    case ICR_DM_INIT:
        /* INIT level de-assert only synchronizes arbitration IDs. */
        if (!(lo & ICR_ASSERT) && (lo & ICR_LEVEL))
            return NULL;
        return self ? "INIT IPI to itself (resetting the vCPU is not emulated)" : NULL;
    case ICR_DM_SIPI:
        return NULL;        /* nobody else; this CPU is not waiting for SIPI */
    case ICR_DM_NMI:
        return self ? "NMI IPI to itself (NMI delivery is not emulated)" : NULL;
    case ICR_DM_SMI:
        return self ? "SMI IPI to itself (there is no SMM)" : NULL;
    default:
        return NULL;        /* reserved delivery modes: nothing is sent */
    }
}

/* ---- register access -------------------------------------------------------- */

static bool is_lvt(unsigned reg) { return reg >= LAPIC_LVT_TIMER && reg <= LAPIC_LVT_ERROR; }
static unsigned lvt_index(unsigned reg) { return (reg - LAPIC_LVT_TIMER) >> 4; }

/* Reads the 32-bit register at 16-byte aligned `reg`; false if reserved. */
static bool read_reg(struct lapic *l, unsigned reg, uint64_t now, uint32_t *val)
{
    if (reg >= LAPIC_ISR && reg < LAPIC_ISR + 0x80) {
        *val = l->isr[(reg - LAPIC_ISR) >> 4];
        return true;
    }
    if (reg >= LAPIC_TMR && reg < LAPIC_TMR + 0x80) {
        *val = l->tmr[(reg - LAPIC_TMR) >> 4];
        return true;
    }
    if (reg >= LAPIC_IRR && reg < LAPIC_IRR + 0x80) {
        *val = l->irr[(reg - LAPIC_IRR) >> 4];
        return true;
    }
    if (is_lvt(reg)) {
        *val = l->lvt[lvt_index(reg)];
        return true;
    }
    switch (reg) {
    case LAPIC_ID:        *val = l->id; return true;
    case LAPIC_VERSION:   *val = LAPIC_VERSION_VALUE; return true;
    case LAPIC_TPR:       *val = l->tpr; return true;
    case LAPIC_APR:       *val = apr(l); return true;
    case LAPIC_PPR:       *val = lapic_ppr(l); return true;
    case LAPIC_EOI:                                 /* write-only */
    case LAPIC_RRD:       *val = 0; return true;    /* remote read: never valid */
    case LAPIC_LDR:       *val = l->ldr; return true;
    case LAPIC_DFR:       *val = l->dfr; return true;
    case LAPIC_SPIV:      *val = l->spiv; return true;
    case LAPIC_ESR:       *val = l->esr; return true;
    case LAPIC_ICR_LO:    *val = l->icr_lo & ~(uint32_t)ICR_BUSY; return true;  /* sent at once */
    case LAPIC_ICR_HI:    *val = l->icr_hi; return true;
    case LAPIC_TIMER_ICR: *val = l->timer_icr; return true;
    case LAPIC_TIMER_CCR: *val = timer_ccr(l, now); return true;
    case LAPIC_TIMER_DCR: *val = l->timer_dcr; return true;
    default:              *val = 0; return false;
    }
}

static void write_lvt(struct lapic *l, unsigned which, uint32_t val, uint64_t now)
{
    if (which == LVT_TIMER)
        lapic_timer_advance(l, now);    /* an expiry before now uses the old mode */
    val &= lvt_writable[which];
    if (!lapic_sw_enabled(l))
        val |= LVT_MASKED;              /* cannot be unmasked while software-disabled */
    l->lvt[which] = val;
}

static void write_spiv(struct lapic *l, uint32_t val, uint64_t now)
{
    lapic_timer_advance(l, now);
    l->spiv = val & 0x3ff;              /* vector, APIC enable, focus checking */
    if (!lapic_sw_enabled(l))
        for (unsigned i = 0; i < LAPIC_NR_LVT; i++)
            l->lvt[i] |= LVT_MASKED;
}

/* Writes the 32-bit register at `reg`: NULL, or why it cannot be emulated.
 * *reserved is set for a reserved offset.  Read-only registers ignore
 * writes (the SDM reports errors only for nonexistent registers). */
static const char *write_reg(struct lapic *l, unsigned reg, uint32_t val, uint64_t now, bool *reserved)
{
    *reserved = false;
    if (is_lvt(reg)) {
        write_lvt(l, lvt_index(reg), val, now);
        return NULL;
    }
    if (reg >= LAPIC_ISR && reg < LAPIC_IRR + 0x80)
        return NULL;                    /* ISR, TMR, IRR: read-only */
    switch (reg) {
    case LAPIC_ID:        l->id = val & 0xff000000u; break;
    case LAPIC_TPR:       l->tpr = val & 0xff; break;
    case LAPIC_EOI:       lapic_eoi(l); break;
    case LAPIC_LDR:       l->ldr = val & 0xff000000u; break;
    case LAPIC_DFR:       l->dfr = val | 0x0fffffffu; break;
    case LAPIC_SPIV:      write_spiv(l, val, now); break;
    case LAPIC_ESR:
        /* The write latches the errors seen since the previous write. */
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case LAPIC_ICR_LO:
        l->icr_lo = val & 0x000ccfffu;  /* vector .. trigger, shorthand; busy is 0 */
        return send_ipi(l);
    case LAPIC_ICR_HI:    l->icr_hi = val & 0xff000000u; break;
    case LAPIC_TIMER_ICR: timer_set_icr(l, val, now); break;
    case LAPIC_TIMER_DCR: timer_set_dcr(l, val, now); break;
    case LAPIC_VERSION: case LAPIC_APR: case LAPIC_PPR: case LAPIC_RRD: case LAPIC_TIMER_CCR:
        break;                          /* read-only */
    default:
        *reserved = true;
    }
    return NULL;
}

uint64_t lapic_mmio_read(struct lapic *l, unsigned off, unsigned size, uint64_t now)
{
    unsigned reg = off & 0xff0, byte = off & 0xf;
    uint32_t val;
    if (!read_reg(l, reg, now, &val))
        apic_error(l, ESR_ILLEGAL_REGISTER);
    if (byte >= 4)
        return 0;
    uint64_t r = val >> (8 * byte);     /* bytes 4-15 of the slot read as 0 */
    return size >= 8 ? r : r & ((1ull << (8 * size)) - 1);
}

const char *lapic_mmio_write(struct lapic *l, unsigned off, unsigned size, uint32_t val, uint64_t now)
{
    unsigned reg = off & 0xff0;
    bool reserved;
    if (size != 4 || (off & 0xf))
        return NULL;
    const char *why = write_reg(l, reg, val, now, &reserved);
    if (reserved)
        apic_error(l, ESR_ILLEGAL_REGISTER);
    return why;
}

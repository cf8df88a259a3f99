/* A 16550 subset: transmit, the registers drivers probe (scratch, LCR,
 * divisor latch, MCR), and a line status that is always ready to send and
 * never has input. */
#include "vdev.h"

#define LCR_DLAB 0x80

uint32_t uart_read(struct vcpu *v, uint16_t port, unsigned size)
{
    struct domain *d = v->dom;
    bool dlab = d->uart_lcr & LCR_DLAB;
    switch (port - 0x3f8) {
    case 0: return dlab ? d->uart_dll : 0;          /* RBR: no input */
    case 1: return dlab ? d->uart_dlm : d->uart_ier;
    case 2: return 0xc1;                            /* IIR: FIFOs on, no interrupt */
    case 3: return d->uart_lcr;
    case 4: return d->uart_mcr;
    case 5: return 0x60;                            /* LSR: THRE | TEMT */
    case 6: return 0xb0;                            /* MSR: DCD, DSR, CTS */
    default: return d->uart_scr;
    }
}

void uart_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
    struct domain *d = v->dom;
    bool dlab = d->uart_lcr & LCR_DLAB;
    uint8_t b = (uint8_t)val;
    switch (port - 0x3f8) {
    case 0:
        if (dlab)
            d->uart_dll = b;
        else
            dom_console_putc(d, (char)b);
        break;
    case 1:
        if (dlab)
            d->uart_dlm = b;
        else
            d->uart_ier = b & 0x0f;
        break;
    case 3: d->uart_lcr = b; break;
    case 4: d->uart_mcr = b & 0x1f; break;
    case 7: d->uart_scr = b; break;
    default: break;                                 /* FCR, read-only registers */
    }
}

void e9_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
    dom_console_putc(v->dom, (char)val);
}

void debug_exit_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
    /* Like QEMU's isa-debug-exit: the value written is the guest's verdict. */
    if (port == NESTOR_PORT_DEBUG_EXIT)
        domain_end(v->dom, END_EXIT, val, NULL);
}

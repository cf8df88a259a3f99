/* Emulated port-I/O devices.  Each domain has its own instance state (in
 * struct domain); the table maps port ranges to handlers. */
#ifndef HV_VDEV_H
#define HV_VDEV_H

#include "domain.h"

struct io_dev {
    uint16_t first, last;
    const char *name;
    uint32_t (*read)(struct vcpu *v, uint16_t port, unsigned size);
    void (*write)(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
};

/* The device claiming `port`, or NULL (reads all-ones, writes dropped). */
const struct io_dev *vdev_find(uint16_t port);

/* Domain console: line-buffered, printed as "[dN] line". */
void dom_console_putc(struct domain *d, char c);
void dom_console_write(struct domain *d, const char *s, size_t n);

uint32_t uart_read(struct vcpu *v, uint16_t port, unsigned size);
void uart_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
void e9_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
void debug_exit_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
uint32_t fwcfg_read(struct vcpu *v, uint16_t port, unsigned size);
void fwcfg_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);

#endif

/* QEMU fw_cfg, the legacy port interface (selector 0x510, data 0x511):
 * the items test kernels read to size themselves. */
#include "vdev.h"

#define FW_CFG_SIGNATURE  0x00
#define FW_CFG_ID         0x01
#define FW_CFG_RAM_SIZE   0x03
#define FW_CFG_NB_CPUS    0x05
#define FW_CFG_MAX_CPUS   0x0f

/* Builds the item's bytes; returns its length (0 for unknown items). */
static unsigned fwcfg_item(struct domain *d, uint16_t key, uint8_t out[8])
{
    uint64_t v;
    unsigned len;
    switch (key) {
    case FW_CFG_SIGNATURE: memcpy(out, "QEMU", 4); return 4;
    case FW_CFG_ID:        v = 0; len = 4; break;          /* no DMA interface */
    case FW_CFG_RAM_SIZE:  v = d->mem_bytes; len = 8; break;
    case FW_CFG_NB_CPUS:
    case FW_CFG_MAX_CPUS:  v = d->nr_vcpus; len = 2; break;
    default: return 0;
    }
    for (unsigned i = 0; i < len; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return len;
}

uint32_t fwcfg_read(struct vcpu *v, uint16_t port, unsigned size)
{
    struct domain *d = v->dom;
    if (port != 0x511)
        return 0xffffffff;
    uint8_t item[8];
    unsigned len = fwcfg_item(d, d->fwcfg_key, item);
    /* Reading past an item's end returns zeros, as QEMU does. */
    uint8_t b = d->fwcfg_off < len ? item[d->fwcfg_off] : 0;
    d->fwcfg_off++;
    return b;
}

void fwcfg_write(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
    if (port == 0x510) {
        v->dom->fwcfg_key = (uint16_t)val;
        v->dom->fwcfg_off = 0;
    }
}

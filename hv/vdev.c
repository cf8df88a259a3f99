/* The port map of a Nestor guest. */
#include "vdev.h"

static const struct io_dev devices[] = {
    { NESTOR_PORT_E9, NESTOR_PORT_E9, "debug console", NULL, e9_write },
    { NESTOR_PORT_DEBUG_EXIT, NESTOR_PORT_DEBUG_EXIT + 3, "isa-debug-exit", NULL, debug_exit_write },
    { 0x3f8, 0x3ff, "16550 UART", uart_read, uart_write },
    { 0x510, 0x511, "fw_cfg", fwcfg_read, fwcfg_write },
};

const struct io_dev *vdev_find(uint16_t port)
{
    for (unsigned i = 0; i < ARRAY_SIZE(devices); i++)
        if (port >= devices[i].first && port <= devices[i].last)
            return &devices[i];
    return NULL;
}

#include "power.h"
#include "console.h"
#include "x86.h"

void power_off(enum nestor_exit_status status, const char *why)
{
    static const char bochs_shutdown[] = "Shutdown";

    /* Printed at every log level: the host tool keys on this line. */
    console_line("[hv] ", "poweroff: status=%d (%s)", status, why);
    console_flush();
    outl(NESTOR_PORT_DEBUG_EXIT, status);
    for (const char *p = bochs_shutdown; *p; p++)
        outb(0x8900, (uint8_t)*p);
    /* Neither emulator took the hint (real hardware): stop here. */
    halt_forever();
    __builtin_unreachable();
}

/* Leaving the machine when every domain has ended (or the hv cannot go on). */
#ifndef HV_POWER_H
#define HV_POWER_H

#include <nestor/abi.h>

/* Prints "[hv] poweroff: status=N (why)" and leaves the emulator: QEMU's
 * isa-debug-exit first (exit code 2N+1), then the Bochs shutdown port. */
__attribute__((noreturn)) void power_off(enum nestor_exit_status status, const char *why);

#endif

/* The Xen public headers from libxen-dev (never copied into this tree). */
#ifndef HV_XEN_ABI_H
#define HV_XEN_ABI_H

#include <stdint.h>
#include <stddef.h>
#include <xen/xen.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>
#include <xen/sched.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/errno.h>

/* Xen 4.17 interface versions (what libxen-dev 4.17 defines). */
_Static_assert(XEN_DOMCTL_INTERFACE_VERSION == 0x15, "Nestor implements the Xen 4.17 domctl ABI");
_Static_assert(XEN_SYSCTL_INTERFACE_VERSION == 0x15, "Nestor implements the Xen 4.17 sysctl ABI");

#endif

"""QEMU (TCG) as an alternative platform: command line and exit codes.

TCG has no VMX, so on QEMU the hypervisor is expected to report status 3;
the platform is still useful to check everything up to that point.  The
hypervisor leaves QEMU by writing N to isa-debug-exit (port 0xf4), which
makes QEMU exit with 2N+1.
"""

QEMU = "qemu-system-x86_64"
CPU_NAME = "qemu64"     # QEMU's default model; --cpu applies to Bochs only


def command(iso, serial, mem_mib=1024):
    return [QEMU, "-cdrom", iso, "-m", str(mem_mib), "-display", "none",
            "-serial", "file:" + serial,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-no-reboot", "-monitor", "none"]


def status_from_exit_code(code):
    """2N+1 -> N.  Anything else (0: QEMU quit on its own, e.g. a triple
    fault with -no-reboot; even codes; negative = killed by a signal) means
    the hypervisor did not leave through isa-debug-exit: None."""
    if code is None or code <= 0 or code % 2 == 0:
        return None
    return (code - 1) // 2

"""Host-side library behind the `./nestor` command-line tool.

Nestor is booted by GRUB2 from an ISO inside an emulator (Bochs by default,
QEMU/TCG as an alternative); this package builds that ISO from the
hypervisor image and the requested guests, runs the emulator headless,
streams the hypervisor's serial console and turns its protocol lines
(`[hv] stats {...}`, `[hv] poweroff: status=N`) into an exit status, a JSON
report and a statistics table.  One concern per module:

    guests   --guest NAME[:OPTIONS] parsing, image kind detection
    iso      grub.cfg generation, ISO tree layout, grub-mkrescue
    bochs    bochsrc generation, Bochs command line, bochs.log tails
    qemu     QEMU command line and exit-code mapping
    runner   running an emulator while streaming its serial console
    console  parsing of the hypervisor's console protocol
    stats    JSON report and exit-statistics table
    cli      argparse front end and the subcommands
"""

import os

# tools/nestorlib/__init__.py -> repository root is two levels above tools/.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.path.join(REPO_ROOT, "build")
HV_IMAGE = os.path.join(BUILD_DIR, "hv", "nestor.elf")
GUESTS_DIR = os.path.join(BUILD_DIR, "guests")
RUN_DIR = os.path.join(BUILD_DIR, "run")

# Exit statuses of the tool itself, chosen outside the hypervisor's 0..4 so a
# caller can always tell "the hypervisor said N" from "the tool gave up".
EXIT_TIMEOUT = 124        # like timeout(1)
EXIT_USAGE = 64           # sysexits EX_USAGE: bad options or missing inputs
EXIT_UNAVAILABLE = 69     # sysexits EX_UNAVAILABLE: host tool missing/failing


class NestorError(Exception):
    """An error the tool reports in one line and turns into an exit status."""

    exit_status = EXIT_USAGE


class UsageError(NestorError):
    """Bad command-line input (guest spec, sizes, missing files)."""

    exit_status = EXIT_USAGE


class HostToolError(NestorError):
    """A host program (grub-mkrescue, bochs, qemu) is missing or failed."""

    exit_status = EXIT_UNAVAILABLE

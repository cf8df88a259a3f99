"""Bochs, the reference machine: bochsrc text, command line, log digests.

Debian's Bochs 2.7 has its debugger compiled in, so it is started with an
rc file holding `c` (continue) and stdin at /dev/null; on SIGINT it then
prints the instruction it was executing and exits, which tells where a hung
machine spins.  The display is `rfb` with timeout=0 (no client awaited;
`nogui` is not built in and `term` needs a tty).  The rfb plugin has no port
option but tries 5900, 5901, ... until a bind succeeds, so concurrent runs
do not clash (up to the 50 ports it tries).
"""

import re

CPU_MODELS = {
    "tigerlake": "tigerlake",
    "skylake-x": "corei7_skylake_x",
}

# A fixed start time for the emulated RTC: Bochs reads time0=1 as "host
# local time", which would make the CMOS clock differ from run to run.
# 946684800 is 2000-01-01 00:00:00 UTC.
TIME0 = 946684800

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/bochs/VGABIOS-lgpl-latest"

LOG_TAIL_LINES = 40
# What a failed run usually hinges on: VM-entry check failures, CPU panics,
# and error-level lines (level letter 'e' or 'p' after the tick count).
INTERESTING_RE = re.compile(r"VMENTER FAIL|VMFAIL|PANIC|>>PANIC<<|error|^\d+[ep]\[")
# Error-level lines that every run has (MSRs Bochs does not model).
NOISE_RE = re.compile(r"(RD|WR)MSR: Unknown register")
# What Bochs prints on SIGINT: "(0).[icount] [phys] seg:rip (ctxt): insn ; bytes"
WHERE_RE = re.compile(r"^\(\d+\)\.\[\d+\] ")


def quote(path):
    """Bochs splits option values on commas and blanks unless quoted."""
    return '"%s"' % path


def bochsrc(iso, serial, log, cpu="tigerlake", mem_mib=1024):
    """The bochsrc text for one run."""
    return "\n".join([
        "cpu: model=%s, count=1, ips=100000000, reset_on_triple_fault=0" % CPU_MODELS[cpu],
        # sync=none: emulated time follows the instruction count, so TSC
        # deltas measured inside the machine are repeatable.
        "clock: sync=none, time0=%d" % TIME0,
        "memory: guest=%d, host=%d" % (mem_mib, mem_mib),
        "romimage: file=%s" % quote(BIOS),
        "vgaromimage: file=%s" % quote(VGABIOS),
        "ata0-master: type=cdrom, path=%s, status=inserted" % quote(iso),
        "boot: cdrom",
        "com1: enabled=1, mode=file, dev=%s" % quote(serial),
        "port_e9_hack: enabled=1",
        'display_library: rfb, options="timeout=0"',
        "log: %s" % quote(log),
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
    ]) + "\n"


# The debugger's command file: just continue.
RC_FILE_TEXT = "c\n"


def command(bochsrc_path, rc_path):
    return ["bochs", "-q", "-f", bochsrc_path, "-rc", rc_path]


def read_lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def log_digest(lines, tail=LOG_TAIL_LINES, max_interesting=20):
    """(interesting, tail): notable lines from before the tail, and the tail.

    The tail alone can miss a VMENTER FAIL that scrolled past it behind the
    register dump Bochs prints on a panic."""
    tail_lines = lines[-tail:] if tail else []
    before = lines[:-tail] if tail else lines
    interesting = [l for l in before if INTERESTING_RE.search(l) and not NOISE_RE.search(l)]
    return interesting[-max_interesting:], tail_lines


def where_stopped(stdout_lines):
    """The instruction Bochs printed when interrupted, or None."""
    hits = [l for l in stdout_lines if WHERE_RE.match(l)]
    return hits[-1] if hits else None

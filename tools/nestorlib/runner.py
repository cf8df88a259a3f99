"""Running an emulator while streaming its serial console live.

The emulator writes COM1 to a file; we poll that file and copy new text to
our stdout as it arrives.  The emulator runs in its own session so that a
timeout (or the user's Ctrl-C) can stop it together with any children, and
so that a terminal's Ctrl-C does not reach it before we decide what to do.
"""

import codecs
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from . import HostToolError
from .console import POWEROFF_RE

POLL_SECONDS = 0.1
STOP_GRACE_SECONDS = 5          # between the polite signal and SIGKILL
# After the poweroff line the hypervisor leaves the machine at once; if the
# emulator lingers anyway (e.g. the exit port is missing), do not wait for
# the full timeout.
POWEROFF_GRACE_SECONDS = 10


PR_SET_PDEATHSIG = 1


def _detach_and_tie_to_parent():
    """preexec_fn for the emulator: own session (see above), and SIGKILL
    when this tool dies, so that a tool killed with SIGKILL (e.g. by a test
    harness's timeout) cannot leave a spinning emulator behind.  Linux
    only; elsewhere the emulator is merely detached."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


@dataclass
class RunOutcome:
    returncode: int         # the emulator's exit code (negative: signal)
    timed_out: bool
    console: str            # everything read from the serial file
    lingered: bool = False  # killed after printing poweroff but not exiting


class SerialTail:
    """Follows a growing file, echoing new text to a sink."""

    def __init__(self, path, sink):
        self.path = path
        self.sink = sink
        self.offset = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.chunks = []
        self.partial = ""           # the unfinished last line, for detection
        self.poweroff_seen = False

    def pump(self, final=False):
        data = self._read_new()
        text = self.decoder.decode(data, final=final)
        if text:
            self.chunks.append(text)
            self.sink(text)
            self._scan(text)

    def _read_new(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return b""
        self.offset += len(data)
        return data

    def _scan(self, text):
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        if any(POWEROFF_RE.match(l.rstrip("\r")) for l in lines):
            self.poweroff_seen = True

    @property
    def text(self):
        return "".join(self.chunks)


def stop_group(proc, first_signal):
    """Signal the emulator's process group, then SIGKILL it if needed."""
    for sig, wait in ((first_signal, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_streaming(cmd, serial_path, output_path, sink, timeout, stop_signal=signal.SIGTERM):
    """Run cmd until it exits or `timeout` seconds pass, streaming the
    serial file to sink(text).  The emulator's own stdout/stderr go to
    output_path (Bochs and QEMU are chatty there)."""
    open(serial_path, "wb").close()     # so polling never races its creation
    with open(output_path, "wb") as out:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT,
                                    preexec_fn=_detach_and_tie_to_parent)
        except OSError as e:
            raise HostToolError("cannot start %s: %s" % (cmd[0], e))
    tail = SerialTail(serial_path, sink)
    try:
        timed_out, lingered = _watch(proc, tail, timeout, stop_signal)
    except BaseException:
        stop_group(proc, stop_signal)   # Ctrl-C: never leave an emulator behind
        raise
    tail.pump(final=True)
    return RunOutcome(proc.returncode, timed_out, tail.text, lingered)


def _watch(proc, tail, timeout, stop_signal):
    """Poll until exit; returns (timed_out, lingered)."""
    deadline = time.monotonic() + timeout
    poweroff_deadline = None
    while True:
        exited = proc.poll() is not None
        tail.pump()
        if exited:
            return False, False
        now = time.monotonic()
        if tail.poweroff_seen and poweroff_deadline is None:
            poweroff_deadline = now + POWEROFF_GRACE_SECONDS
        if poweroff_deadline is not None and now >= poweroff_deadline:
            stop_group(proc, stop_signal)
            return False, True
        if now >= deadline:
            stop_group(proc, stop_signal)
            return True, False
        time.sleep(POLL_SECONDS)

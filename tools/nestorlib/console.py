"""Parsing of the hypervisor's serial console protocol.

The protocol is fixed:
    [hv] ...                          hypervisor messages
    [dN] ...                          output of domain N
    [hv] stats {JSON}                 one per domain, when it ends
    [hv] poweroff: status=N (text)    the last line; N is
        0 all domains ok, 1 some domain failed, 2 no domain could be created,
        3 the CPU lacks a VMX feature Nestor needs, 4 hypervisor panic
"""

import json
import re

STATUS_OK = 0
STATUS_DOMAIN_FAILED = 1
STATUS_NO_DOMAINS = 2
STATUS_NO_VMX = 3
STATUS_PANIC = 4

STATUS_MEANING = {
    STATUS_OK: "all domains ok",
    STATUS_DOMAIN_FAILED: "some domain failed",
    STATUS_NO_DOMAINS: "no domain could be created",
    STATUS_NO_VMX: "the CPU lacks a VMX feature Nestor needs",
    STATUS_PANIC: "hypervisor panic",
}

# Loose on purpose: a truncated or garbled payload should be reported as
# unparsable rather than silently ignored.
STATS_RE = re.compile(r"^\[hv\] stats (\{.*)$")
POWEROFF_RE = re.compile(r"^\[hv\] poweroff: status=(\d+)\b\s*(.*)$")
DOMAIN_LINE_RE = re.compile(r"^\[d(\d+)\] ?(.*)$")


def split_lines(text):
    """Console text -> lines without line ends (serial output may use CRLF)."""
    return [line.rstrip("\r") for line in text.split("\n")] if text else []


def parse_stats_line(line):
    """The stats object of a `[hv] stats {...}` line, or None.  A malformed
    JSON payload raises ValueError so the caller can report it."""
    m = STATS_RE.match(line)
    if not m:
        return None
    obj = json.loads(m.group(1))
    if not isinstance(obj, dict):
        raise ValueError("stats payload is not a JSON object")
    return obj


def parse_poweroff_line(line):
    """(status, text) of a `[hv] poweroff: status=N (...)` line, or None."""
    m = POWEROFF_RE.match(line)
    if not m:
        return None
    return int(m.group(1)), m.group(2).strip()


def domain_line(line):
    """(domid, text) of a `[dN] text` line, or None."""
    m = DOMAIN_LINE_RE.match(line)
    if not m:
        return None
    return int(m.group(1)), m.group(2)


class Console:
    """Everything the tool needs from one run's console output."""

    def __init__(self, text):
        self.text = text
        self.lines = split_lines(text)
        self.domains = []           # stats objects, in console order
        self.bad_stats = []         # (line, error) of unparsable stats lines
        self.poweroff = None        # (status, text) of the last poweroff line
        for line in self.lines:
            self._take(line)

    def _take(self, line):
        try:
            stats = parse_stats_line(line)
        except ValueError as e:
            self.bad_stats.append((line, str(e)))
            return
        if stats is not None:
            self.domains.append(stats)
            return
        poweroff = parse_poweroff_line(line)
        if poweroff is not None:
            self.poweroff = poweroff

    @property
    def status(self):
        """N from the poweroff line, or None if the hypervisor never got there."""
        return self.poweroff[0] if self.poweroff else None

    def domain_output(self, domid):
        return [text for d, text in filter(None, map(domain_line, self.lines)) if d == domid]

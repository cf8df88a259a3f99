"""Run `./nestor run` from integration tests and look at what happened.

    r = run_nestor(["hello", "hello:name=h2,args=x y"])
    assert r.status == 0, r
    assert "Hello" in r.domain_output("h2")[0]
    assert r.domain("hello")["ok"]

The tool runs as a subprocess (exactly what a developer types), with --json
into a temporary file for the per-domain stats.  `str(result)` is a digest
(command, status, console tail, the tool's stderr tail) meant for assertion
messages.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NESTOR = os.path.join(REPO_ROOT, "nestor")
HV_IMAGE = os.path.join(REPO_ROOT, "build", "hv", "nestor.elf")

# The tool enforces its own --timeout; this margin covers ISO building and
# the emulator's shutdown so that the subprocess timeout only fires if the
# tool itself hangs.
HARNESS_MARGIN_SECONDS = 120

DOMAIN_LINE_RE = re.compile(r"^\[d(\d+)\] ?(.*)$")


class MissingBuild(RuntimeError):
    """build/hv/nestor.elf is absent: integration tests cannot run."""


def check_build():
    if not os.path.isfile(HV_IMAGE):
        raise MissingBuild("%s is missing: run `make build` (or `./nestor build`) "
                           "before the integration tests" % HV_IMAGE)


class NestorRun:
    """The outcome of one `nestor run`."""

    def __init__(self, cmd, status, output, stderr, report):
        self.cmd = cmd
        self.status = status            # the tool's exit status
        self.output = output            # console text (the tool's stdout)
        self.stderr = stderr            # the tool's own messages, bochs.log tail
        self.lines = [l.rstrip("\r") for l in output.splitlines()]
        self.report = report or {}
        self.domains = self.report.get("domains", [])

    def domain(self, name):
        """The stats dict of the domain called `name`."""
        for d in self.domains:
            if d.get("name") == name:
                return d
        raise KeyError("no stats for domain %r (have: %s)\n%s"
                       % (name, [d.get("name") for d in self.domains], self))

    def domid(self, domid_or_name):
        if isinstance(domid_or_name, int):
            return domid_or_name
        return self.domain(domid_or_name)["domid"]

    def domain_output(self, domid_or_name):
        """That domain's console lines, without the `[dN] ` prefix."""
        domid = self.domid(domid_or_name)
        out = []
        for line in self.lines:
            m = DOMAIN_LINE_RE.match(line)
            if m and int(m.group(1)) == domid:
                out.append(m.group(2))
        return out

    def hv_output(self):
        """The hypervisor's own lines, without the `[hv] ` prefix."""
        return [l[5:] for l in self.lines if l.startswith("[hv] ")]

    def __str__(self):
        return "\n".join(["command: nestor %s" % " ".join(self.cmd[2:]),
                          "status: %s" % self.status,
                          "---- console (last 60 lines) ----"] + self.lines[-60:] +
                         ["---- nestor stderr (last 60 lines) ----"] +
                         self.stderr.splitlines()[-60:])

    __repr__ = __str__


def run_nestor(guests, platform="bochs", cpu="tigerlake", timeout=300, extra_args=()):
    """Run `nestor run` with these guests (a spec string or a list of them,
    as for --guest) and return a NestorRun."""
    check_build()
    if isinstance(guests, str):
        guests = [guests]
    fd, json_path = tempfile.mkstemp(prefix="nestor-", suffix=".json")
    os.close(fd)
    try:
        cmd = [sys.executable, NESTOR, "run", "--platform", platform,
               "--timeout", str(timeout), "--json", json_path]
        if platform == "bochs":
            cmd += ["--cpu", cpu]
        for g in guests:
            cmd += ["--guest", g]
        cmd += list(extra_args)
        proc = subprocess.run(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout + HARNESS_MARGIN_SECONDS)
        return NestorRun(cmd, proc.returncode, _text(proc.stdout), _text(proc.stderr),
                         _load(json_path))
    finally:
        os.unlink(json_path)


def _text(data):
    return data.decode("utf-8", errors="replace")


def _load(path):
    """The --json report, or None if the tool never wrote it (usage error)."""
    try:
        with open(path) as f:
            text = f.read()
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None

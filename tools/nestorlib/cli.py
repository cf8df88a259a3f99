"""The `nestor` command line: argparse front end and the subcommands.

stdout carries the machine's serial console (and the --table output);
everything the tool itself has to say goes to stderr, prefixed `nestor:`,
so that the console text can be compared or parsed as is.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

from . import (EXIT_TIMEOUT, EXIT_UNAVAILABLE, EXIT_USAGE, HV_IMAGE, REPO_ROOT, RUN_DIR,
               HostToolError, NestorError, UsageError, bochs, guests, iso, qemu, stats)
from .console import STATUS_MEANING, STATUS_PANIC, Console
from .runner import run_streaming

PLATFORMS = ("bochs", "qemu")
CPUS = tuple(bochs.CPU_MODELS)
LOGLEVELS = ("error", "warn", "info", "debug")
HV_ARG_RE = re.compile(r"^[^\s=]+=\S*$")

GUEST_HELP = """\
a domain to boot; repeat for more, in boot order.
NAME: a built test guest (build/guests/NAME.elf)
or a path.  OPTIONS, comma-separated:
 kind=elf|mb1|mb2  default: detected (multiboot2
                   header, multiboot1 header, ELF64)
 mem=SIZE          guest RAM: 16M, 1G... (default 32M)
 priv              privileged domain (dom0)
 name=X            domain name (default: file stem)
 mod=PATH          a module for the guest (repeatable)
 args=TEXT         guest command line; must be last:
                   takes the rest, commas included
 other K=V, flags  passed verbatim to the hypervisor
                   (nested=1, debug=bad-guest-state)"""

RUN_EPILOG = """\
exit status: N from the hypervisor's "[hv] poweroff: status=N" line:
  0 all domains ok, 1 some domain failed, 2 no domain could be created,
  3 the CPU lacks a VMX feature Nestor needs, 4 hypervisor panic (also when
  the machine stopped without a poweroff line);
  124 timeout, 64 bad usage or missing input, 69 host tool missing/failing.

examples:
  nestor run --guest hello
  nestor run --guest hello:mem=16M,priv --guest hello:name=h2,args=a b,c
  nestor run --guest /path/vmlinuz:kind=elf,mem=256M,args=console=ttyS0,115200
  nestor run --guest hello --json out.json --table --keep /tmp/nestor-run"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line structure of help texts that have one (--guest's
    option list); wraps the others as usual."""

    def _split_lines(self, text, width):
        if "\n" in text:
            return text.splitlines()
        return super()._split_lines(text, width)


class Parser(argparse.ArgumentParser):
    """Usage errors exit with 64: argparse's default 2 would read as the
    hypervisor's "no domain could be created"."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, "%s: error: %s\n" % (self.prog, message))


def build_parser():
    parser = Parser(prog="nestor", description="Build and run the Nestor hypervisor "
                    "and its domains on an emulated machine (Bochs by default).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("build", help="run `make build` in the repository root",
                       description="Run `make build` in the repository root; "
                       "exits with make's status.")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="boot the hypervisor with some domains",
                       description="Build a GRUB ISO with the hypervisor and the given\n"
                       "domains, boot it in an emulator, stream the serial console to\n"
                       "stdout and exit with the hypervisor's status.",
                       epilog=RUN_EPILOG, formatter_class=HelpFormatter)
    add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("stats", help="print the exit-statistics table of a --json file",
                       description="Print the per-domain exit-statistics table of a "
                       "report written by `nestor run --json`.")
    p.add_argument("file", metavar="FILE.json", help="report written by `nestor run --json`")
    p.set_defaults(func=cmd_stats)
    return parser


def add_run_options(p):
    p.add_argument("--guest", action="append", default=[], metavar="NAME[:OPTIONS]",
                   help=GUEST_HELP)
    p.add_argument("--turtles", action="append", default=[], metavar="NAME[:OPTIONS]",
                   help="boot the same hypervisor image as an L1 domain (nested=1) that runs "
                        "this guest as its own L2 domain (repeatable: several L2 guests)")
    p.add_argument("--l1-option", action="append", default=[], metavar="OPT",
                   help="domain option for the L1 hypervisor domain of --turtles "
                        "(e.g. vmcs_shadowing=0, mem=512M)")
    p.add_argument("--platform", choices=PLATFORMS, default="bochs",
                   help="emulator: bochs (the reference machine, default) or qemu "
                   "(TCG, no VMX: expect status 3)")
    p.add_argument("--cpu", choices=CPUS, default=None,
                   help="Bochs CPU model (default tigerlake; skylake-x = corei7_skylake_x, "
                   "no SPP or monitor trap flag)")
    p.add_argument("--mem", type=int, default=1024, metavar="MiB",
                   help="machine RAM in MiB (default 1024)")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS",
                   help="stop the emulator after this many wall seconds and exit "
                   "124 (default 300)")
    p.add_argument("--loglvl", choices=LOGLEVELS, default="info",
                   help="hypervisor log level (default info)")
    p.add_argument("--hv-arg", action="append", default=[], metavar="K=V",
                   help="extra hypervisor command-line argument (repeatable)")
    p.add_argument("--json", metavar="FILE",
                   help="write {platform, cpu, status, timed_out, domains: [stats...]} to FILE")
    p.add_argument("--table", action="store_true",
                   help="print the per-domain exit-statistics table after the run")
    p.add_argument("--keep", metavar="DIR",
                   help="use DIR as the work directory (ISO tree, ISO, bochsrc, "
                   "serial.out, bochs.log) and keep it; default: a temporary "
                   "directory under build/run/, removed afterwards")
    p.add_argument("--raw-module", action="append", default=[], metavar="PATH::CMDLINE",
                   help="add a boot module with this exact command line after the "
                   "guests (for testing how the hypervisor rejects malformed "
                   "modules; e.g. 'junk.bin::elf mem=8M')")
    p.add_argument("--hv", default=HV_IMAGE, metavar="PATH",
                   help="hypervisor image (default build/hv/nestor.elf)")


def note(message):
    """Say something on stderr, clearly apart from the console on stdout."""
    sys.stdout.flush()
    for line in message.splitlines() or [""]:
        sys.stderr.write("nestor: %s\n" % line)
    sys.stderr.flush()


def echo(text):
    sys.stdout.write(text)
    sys.stdout.flush()


# ---- build -------------------------------------------------------------------

def cmd_build(args):
    try:
        return subprocess.call(["make", "build"], cwd=REPO_ROOT)
    except OSError as e:
        note("cannot run make: %s" % e)
        return EXIT_UNAVAILABLE


# ---- stats -------------------------------------------------------------------

def cmd_stats(args):
    echo(stats.render_table(stats.load_report(args.file)))
    return 0


# ---- run ---------------------------------------------------------------------

def check_run_args(args):
    """Validate what argparse cannot; returns the resolved guest specs."""
    if not os.path.isfile(args.hv):
        raise UsageError("hypervisor image %s not found: run `nestor build` first" % args.hv)
    if args.mem < 16:
        raise UsageError("--mem %d: the machine needs at least 16 MiB" % args.mem)
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    for kv in args.hv_arg:
        if not HV_ARG_RE.match(kv):
            raise UsageError("--hv-arg %r: expected K=V without whitespace" % kv)
    if args.platform == "qemu" and args.cpu is not None:
        note("--cpu applies to Bochs only; QEMU runs its default %s model" % qemu.CPU_NAME)
    if not args.guest and not args.raw_module and not args.turtles:
        raise UsageError("nothing to run: give --guest, --turtles or --raw-module")
    for raw in args.raw_module:
        path, sep, _ = raw.partition("::")
        if not sep or not os.path.isfile(path):
            raise UsageError("--raw-module %r: expected an existing PATH::CMDLINE" % raw)
    specs = [guests.parse_guest_spec(g) for g in args.guest]
    return guests.resolve_guests(specs)


def turtles_modules(args):
    """--turtles: the hypervisor image as an L1 domain, then its L2 guests
    as its modules ("mod <their own domain command line>")."""
    if not args.turtles:
        return []
    l2 = guests.resolve_guests([guests.parse_guest_spec(g) for g in args.turtles])
    opts = {"mem": "256M"}
    for o in args.l1_option:
        k, _, v = o.partition("=")
        opts[k] = v
    words = ["mb2", "name=nestor-l1", "nested=1"] + \
        ["%s=%s" % (k, v) if v else k for k, v in opts.items()] + ["--", "loglvl=" + args.loglvl]
    mods = [(args.hv, " ".join(words))]
    for spec in l2:
        if spec.mods:
            raise UsageError("--turtles %s: L2 guests with modules are not supported" % spec.name)
        mods.append((spec.path, " ".join(["mod"] + iso.domain_cmdline_words(spec))))
    return mods


def make_workdir(keep):
    """--keep DIR is reused (its old ISO tree removed); otherwise a fresh
    directory under build/run/ so that parallel runs never collide."""
    if keep:
        workdir = os.path.abspath(keep)
        os.makedirs(workdir, exist_ok=True)
        shutil.rmtree(os.path.join(workdir, "iso"), ignore_errors=True)
        return workdir
    os.makedirs(RUN_DIR, exist_ok=True)
    return tempfile.mkdtemp(prefix="run-", dir=RUN_DIR)


def cmd_run(args):
    specs = check_run_args(args)
    workdir = make_workdir(args.keep)
    try:
        return run_in(workdir, specs, args)
    finally:
        if args.keep:
            note("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run_in(workdir, specs, args):
    tree = os.path.join(workdir, "iso")
    raw = turtles_modules(args) + [tuple(r.split("::", 1)) for r in args.raw_module]
    iso.populate_tree(tree, args.hv, specs, args.loglvl, args.hv_arg, raw)
    image = iso.make_iso(tree, os.path.join(workdir, "nestor.iso"))
    cpu = (args.cpu or "tigerlake") if args.platform == "bochs" else qemu.CPU_NAME
    note("booting %d domain(s) on %s (%s, %d MiB): %s" % (
        len(specs), args.platform, cpu, args.mem,
        ", ".join("%s=%s[%s]" % (s.name, shown_path(s.path), s.kind) for s in specs)))
    if args.platform == "bochs":
        status, console, timed_out = run_bochs(workdir, image, cpu, args)
    else:
        status, console, timed_out = run_qemu(workdir, image, args)
    finish(args, status, console, cpu, timed_out)
    return status


def shown_path(path):
    """Repository files relative to the repository, others absolute."""
    rel = os.path.relpath(path, REPO_ROOT)
    return path if rel.startswith("..") else rel


def finish(args, status, console, cpu, timed_out):
    """Report the outcome: summary line, --json, --table."""
    for line, error in console.bad_stats:
        note("unparsable stats line (%s): %s" % (error, line))
    if status == EXIT_TIMEOUT:
        note("status 124: timed out")
    else:
        note("status %d: %s" % (status, STATUS_MEANING.get(status, "?")))
    if args.json:
        stats.write_report(args.json, stats.report(args.platform, cpu, status,
                                                   console.domains, timed_out))
    if args.table:
        echo("\n" + stats.render_table(console.domains))
        amp = stats.render_amplification(console.domains)
        if amp:
            echo(amp)


def run_bochs(workdir, image, cpu, args):
    paths = {name: os.path.join(workdir, name)
             for name in ("bochsrc", "bochsrc.rc", "serial.out", "bochs.log", "bochs.out")}
    with open(paths["bochsrc"], "w") as f:
        f.write(bochs.bochsrc(image, paths["serial.out"], paths["bochs.log"], cpu, args.mem))
    with open(paths["bochsrc.rc"], "w") as f:
        f.write(bochs.RC_FILE_TEXT)
    outcome = run_streaming(bochs.command(paths["bochsrc"], paths["bochsrc.rc"]),
                            paths["serial.out"], paths["bochs.out"], echo,
                            args.timeout, stop_signal=signal.SIGINT)
    end_console(outcome.console)
    console = Console(outcome.console)
    status, problems = bochs_status(console.status, outcome.timed_out, outcome.lingered,
                                    args.timeout)
    for problem in problems:
        note(problem)
    if outcome.timed_out:
        where = bochs.where_stopped(bochs.read_lines(paths["bochs.out"]))
        if where:
            note("Bochs was executing: %s" % where)
    if status != 0:
        show_bochs_log(paths["bochs.log"], args.keep)
    return status, console, outcome.timed_out


def end_console(text):
    """A machine that died mid-line leaves the cursor there: end the line so
    our own messages start on a fresh one."""
    if text and not text.endswith("\n"):
        echo("\n")


def timeout_message(timeout):
    return "timeout after %g s: killed the emulator (exit status 124)" % timeout


def bochs_status(console_status, timed_out, lingered=False, timeout=0):
    """(exit status, [problem messages]) of a Bochs run.  The poweroff line
    is the only source of truth: Bochs exits 1 on the shutdown port as on a
    crash, so its own exit code says nothing."""
    problems = []
    if console_status is not None:
        if lingered:
            problems.append("the emulator did not exit after the poweroff line; killed it")
        return checked_status(console_status, problems), problems
    if timed_out:
        problems.append(timeout_message(timeout))
        return EXIT_TIMEOUT, problems
    problems.append("the machine stopped without a poweroff line "
                    "(emulator died or hypervisor crashed): status 4")
    return STATUS_PANIC, problems


def checked_status(status, problems):
    """Statuses outside the protocol's 0..4 count as a hypervisor failure."""
    if status in STATUS_MEANING:
        return status
    problems.append("poweroff status %d is not one of 0..4: treating it as 4" % status)
    return STATUS_PANIC


def show_bochs_log(path, keep):
    lines = bochs.read_lines(path)
    interesting, tail = bochs.log_digest(lines)
    if interesting:
        note("---- notable earlier lines of bochs.log ----")
        for line in interesting:
            note("bochs.log| " + line)
    note("---- last %d lines of bochs.log ----" % len(tail))
    for line in tail:
        note("bochs.log| " + line)
    if not keep:
        note("(use --keep DIR to keep the whole bochs.log)")


def run_qemu(workdir, image, args):
    serial = os.path.join(workdir, "serial.out")
    if shutil.which(qemu.QEMU) is None:
        raise HostToolError("%s not found (package qemu-system-x86)" % qemu.QEMU)
    outcome = run_streaming(qemu.command(image, serial, args.mem), serial,
                            os.path.join(workdir, "qemu.out"), echo, args.timeout)
    end_console(outcome.console)
    console = Console(outcome.console)
    status, problems = qemu_status(console.status, outcome.returncode, outcome.timed_out,
                                   args.timeout)
    for problem in problems:
        note(problem)
    if status != 0:
        for line in bochs.read_lines(os.path.join(workdir, "qemu.out"))[-bochs.LOG_TAIL_LINES:]:
            note("qemu| " + line)
    return status, console, outcome.timed_out


def qemu_status(console_status, exit_code, timed_out, timeout=0):
    """(exit status, [problem messages]) of a QEMU run: the poweroff line
    when present and consistent with QEMU's 2N+1 exit code."""
    problems = []
    from_code = qemu.status_from_exit_code(exit_code)
    if console_status is not None:
        if from_code is None:
            if not timed_out:
                problems.append("QEMU exit code %s did not come from isa-debug-exit; "
                                "using the poweroff line" % exit_code)
            return checked_status(console_status, problems), problems
        if from_code != console_status:
            worse = max(from_code, console_status)
            problems.append("poweroff line says %d but QEMU's exit code %d means %d; using %d"
                            % (console_status, exit_code, from_code, worse))
            return checked_status(worse, problems), problems
        return checked_status(console_status, problems), problems
    if timed_out:
        problems.append(timeout_message(timeout))
        return EXIT_TIMEOUT, problems
    if from_code is not None:
        problems.append("no poweroff line on the console; status %d from QEMU's exit code %d"
                        % (from_code, exit_code))
        return checked_status(from_code, problems), problems
    problems.append("QEMU exited with %s without a poweroff line: status 4" % exit_code)
    return STATUS_PANIC, problems


# ---- main --------------------------------------------------------------------

def _terminate(signum, frame):
    """SIGTERM/SIGHUP unwind like Ctrl-C: stop the emulator, remove the work
    directory, exit 128+signum."""
    note("terminated by signal %d" % signum)
    raise SystemExit(128 + signum)


def main(argv=None):
    args = build_parser().parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    try:
        sys.stdout.reconfigure(errors="replace")   # console bytes may be anything
    except AttributeError:
        pass
    try:
        return args.func(args)
    except NestorError as e:
        note("error: %s" % e)
        return e.exit_status
    except KeyboardInterrupt:
        note("interrupted")
        return 130

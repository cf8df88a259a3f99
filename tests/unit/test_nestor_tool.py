"""Unit tests of the `nestor` tool's pure logic (tools/nestorlib).

Nothing here boots a machine: guest-spec parsing, kind detection, grub.cfg
and bochsrc text, console/stats parsing, exit-status mapping, the table,
and the streaming runner driven by a shell command instead of an emulator.
"""

import json
import os
import signal
import time
import struct
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "integration"))

from nestorlib import EXIT_TIMEOUT, EXIT_USAGE, UsageError, bochs, cli, console, guests, iso, qemu, runner, stats  # noqa: E402,E501
from nestorlib.guests import GuestSpec  # noqa: E402

STATS = {"domid": 1, "name": "hello", "result": "exit(0)", "ok": True,
         "vcpus": [{"vcpu": 0, "total_exits": 12, "total_cycles": 3456,
                    "exits": {"CPUID": {"count": 3, "cycles": 900},
                              "IO_INSTRUCTION": {"count": 9, "cycles": 2556}}}]}


# ---- guest specs ---------------------------------------------------------------

def test_plain_name_has_defaults():
    spec = guests.parse_guest_spec("hello")
    assert (spec.image, spec.kind, spec.mem, spec.priv, spec.name) == ("hello", None, "32M", False, None)
    assert spec.mods == [] and spec.extra == [] and spec.args is None


def test_all_options():
    spec = guests.parse_guest_spec("hello:kind=mb2,mem=16m,priv,name=h1,mod=a.txt,"
                                   "nested=1,mod=b.bin,debug=bad-guest-state,args=x")
    assert spec.kind == "mb2"
    assert spec.mem == "16M"
    assert spec.priv
    assert spec.name == "h1"
    assert spec.mods == ["a.txt", "b.bin"]
    assert spec.extra == ["nested=1", "debug=bad-guest-state"]
    assert spec.args == "x"


def test_args_takes_the_rest_with_commas():
    spec = guests.parse_guest_spec("k:mem=1G,args=console=ttyS0,115200 quiet,mem=5M")
    assert spec.args == "console=ttyS0,115200 quiet,mem=5M"
    assert spec.mem == "1G"


def test_args_may_be_empty_and_colons_survive():
    assert guests.parse_guest_spec("k:args=").args == ""
    assert guests.parse_guest_spec("k:args=a:b").args == "a:b"


def test_empty_tokens_are_ignored():
    spec = guests.parse_guest_spec("k:,priv,,nested=1,")
    assert spec.priv and spec.extra == ["nested=1"]


def test_flag_passthrough_keeps_order():
    spec = guests.parse_guest_spec("k:z=1,flag,a=2")
    assert spec.extra == ["z=1", "flag", "a=2"]


@pytest.mark.parametrize("text", [
    ":mem=16M",                 # no image
    "k:kind=pe",                # unknown kind
    "k:mem=16",                 # size without unit
    "k:mem=0M",                 # zero size
    "k:mem=big",
    "k:name=has space",
    "k:name=" + "x" * 32,       # longer than the 31 chars of start_info.name
    "k:name=a/b",
    "k:mod=",
    "k:priv=1",                 # priv is a flag
    "k:kind",                   # kind needs a value
    "k:--",
])
def test_bad_specs(text):
    with pytest.raises(UsageError):
        guests.parse_guest_spec(text)


@pytest.mark.parametrize("text,value", [
    ("16M", 16 << 20), ("1G", 1 << 30), ("512k", 512 << 10), ("16MiB", 16 << 20), ("2 G", 2 << 30),
])
def test_parse_size(text, value):
    assert guests.parse_size(text) == value


def test_canonical_size():
    assert guests.canonical_size("16mib") == "16M"
    assert guests.canonical_size("1g") == "1G"


# ---- kind detection ----------------------------------------------------------------

def mb2_header(arch=0, length=24):
    magic = guests.MB2_MAGIC
    return struct.pack("<IIII", magic, arch, length, (-(magic + arch + length)) & 0xFFFFFFFF)


def mb1_header(flags=3):
    magic = guests.MB1_MAGIC
    return struct.pack("<III", magic, flags, (-(magic + flags)) & 0xFFFFFFFF)


ELF64 = b"\x7fELF\x02\x01\x01" + bytes(57)
ELF32 = b"\x7fELF\x01\x01\x01" + bytes(45)


def test_detect_mb2_aligned_within_32k():
    assert guests.detect_kind(ELF64 + bytes(4096 - len(ELF64)) + mb2_header()) == "mb2"
    assert guests.detect_kind(bytes(32768 - 16) + mb2_header()) == "mb2"


def test_detect_mb2_not_beyond_32k_nor_misaligned():
    assert guests.detect_kind(bytes(32768) + mb2_header()) is None
    assert guests.detect_kind(bytes(4100) + mb2_header()) is None      # 4-aligned only


def test_detect_mb2_needs_valid_checksum():
    bad = bytearray(mb2_header())
    bad[12] ^= 1
    assert guests.detect_kind(bytes(bad)) is None


def test_detect_mb1():
    assert guests.detect_kind(ELF32 + bytes(12) + mb1_header()) == "mb1"
    assert guests.detect_kind(bytes(8192 - 12) + mb1_header()) == "mb1"
    assert guests.detect_kind(bytes(8192) + mb1_header()) is None
    assert guests.detect_kind(bytes(6) + mb1_header()) is None           # misaligned
    bad = bytearray(mb1_header())
    bad[8] ^= 1
    assert guests.detect_kind(bytes(bad)) is None


def test_mb2_wins_over_mb1_and_elf():
    assert guests.detect_kind(ELF64 + mb1_header() + bytes(4) + mb2_header()) == "mb2"


def test_detect_elf64_only():
    assert guests.detect_kind(ELF64) == "elf"
    assert guests.detect_kind(ELF32) is None
    assert guests.detect_kind(b"") is None


# ---- guest resolution ----------------------------------------------------------------

@pytest.fixture
def guest_dir(tmp_path):
    d = tmp_path / "guests"
    d.mkdir()
    (d / "hello.elf").write_bytes(ELF64)
    (d / "mbk.elf").write_bytes(ELF32 + mb1_header())
    return str(d)


def test_built_guest_resolves(guest_dir):
    spec = guests.resolve_guests([guests.parse_guest_spec("hello")], guest_dir)[0]
    assert spec.path == os.path.join(guest_dir, "hello.elf")
    assert (spec.kind, spec.name) == ("elf", "hello")


def test_built_multiboot_guest_detected(guest_dir):
    spec = guests.resolve_guests([guests.parse_guest_spec("mbk")], guest_dir)[0]
    assert spec.kind == "mb1"


def test_path_guest_and_explicit_kind(guest_dir, tmp_path):
    raw = tmp_path / "vmlinuz-6.1.0-cloud-amd64"
    raw.write_bytes(b"MZ not an elf")
    spec = guests.resolve_guests([guests.parse_guest_spec(str(raw) + ":kind=elf")], guest_dir)[0]
    assert spec.path == str(raw) and spec.kind == "elf"
    assert spec.name == "vmlinuz-6.1.0-cloud-amd64"


def test_undetectable_file_needs_kind(guest_dir, tmp_path):
    raw = tmp_path / "blob.bin"
    raw.write_bytes(b"\0" * 100)
    with pytest.raises(UsageError, match="kind="):
        guests.resolve_guests([guests.parse_guest_spec(str(raw))], guest_dir)


def test_unknown_guest_lists_built_ones(guest_dir):
    with pytest.raises(UsageError, match="hello, mbk"):
        guests.resolve_guests([guests.parse_guest_spec("nosuch")], guest_dir)


def test_default_names_are_numbered(guest_dir):
    specs = [guests.parse_guest_spec(s) for s in ("hello", "hello", "hello:name=x", "hello")]
    assert [s.name for s in guests.resolve_guests(specs, guest_dir)] == ["hello", "hello-2", "x", "hello-3"]


def test_explicit_duplicate_name_is_an_error(guest_dir):
    specs = [guests.parse_guest_spec(s) for s in ("hello", "mbk:name=hello")]
    with pytest.raises(UsageError, match="two guests"):
        guests.resolve_guests(specs, guest_dir)


def test_modules_must_exist(guest_dir, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        guests.resolve_guests([guests.parse_guest_spec("hello:mod=/nonexistent/x")], guest_dir)
    env = tmp_path / "env.txt"
    env.write_text("x")
    spec = guests.resolve_guests([guests.parse_guest_spec("hello:mod=%s" % env)], guest_dir)[0]
    assert spec.mods == [str(env)]


@pytest.mark.parametrize("path,name", [
    ("/x/hello.elf", "hello"), ("/x/vmlinuz", "vmlinuz"), ("/x/a b.elf", "a_b"),
    ("/x/" + "y" * 40 + ".elf", "y" * 31), ("/x/.elf", ".elf"),
])
def test_default_name(path, name):
    assert guests.default_name(path) == name


# ---- grub.cfg and ISO tree ------------------------------------------------------------

def spec(**kw):
    base = dict(image="hello", kind="elf", name="hello", path="/g/hello.elf")
    base.update(kw)
    return GuestSpec(**base)


@pytest.mark.parametrize("word,quoted", [
    ("name=hello", "name=hello"), ("console=ttyS0,115200", "console=ttyS0,115200"),
    ("a$b", "'a$b'"), ("semi;colon", "'semi;colon'"), ("#x", "'#x'"), ("", "''"),
    ("it's", "'it'\\''s'"), ('"q"', "'\"q\"'"),
])
def test_grub_quote(word, quoted):
    assert iso.grub_quote(word) == quoted


def test_domain_cmdline_words():
    s = spec(mem="16M", priv=True, extra=["nested=1"], args="console=ttyS0,115200  quiet")
    assert iso.domain_cmdline_words(s) == ["elf", "name=hello", "mem=16M", "priv", "nested=1",
                                           "--", "console=ttyS0,115200", "quiet"]
    assert iso.domain_cmdline_words(spec()) == ["elf", "name=hello", "mem=32M"]


def test_grub_cfg_text():
    specs = [spec(mods=["/m/env.txt", "/n/data.bin"], args="a b"),
             spec(name="h2", kind="mb2", priv=True)]
    assert iso.grub_cfg(specs, "debug", ["sched=rr"]) == (
        "set timeout=0\n"
        "set default=0\n"
        "terminal_output console\n"
        'menuentry "Nestor" {\n'
        "    multiboot2 /boot/nestor.elf loglvl=debug sched=rr\n"
        "    module2 /guests/1-hello.elf elf name=hello mem=32M -- a b\n"
        "    module2 /mods/1-1-env.txt mod env.txt\n"
        "    module2 /mods/1-2-data.bin mod data.bin\n"
        "    module2 /guests/2-h2.elf mb2 name=h2 mem=32M priv\n"
        "    boot\n"
        "}\n")


def test_grub_cfg_never_touches_serial():
    text = iso.grub_cfg([spec()])
    assert "serial" not in text


def test_populate_tree(tmp_path):
    hv = tmp_path / "nestor.elf"
    hv.write_bytes(b"hv")
    g = tmp_path / "g.elf"
    g.write_bytes(b"guest")
    m = tmp_path / "env.txt"
    m.write_bytes(b"env")
    tree = tmp_path / "iso"
    iso.populate_tree(str(tree), str(hv), [spec(path=str(g), mods=[str(m)])])
    assert (tree / "boot" / "nestor.elf").read_bytes() == b"hv"
    assert (tree / "guests" / "1-hello.elf").read_bytes() == b"guest"
    assert (tree / "mods" / "1-1-env.txt").read_bytes() == b"env"
    assert "module2 /mods/1-1-env.txt mod env.txt" in (tree / "boot" / "grub" / "grub.cfg").read_text()


# ---- bochsrc and bochs.log -------------------------------------------------------------

def test_bochsrc_text():
    text = bochs.bochsrc("/w/nestor.iso", "/w/serial.out", "/w/bochs.log", "tigerlake", 512)
    lines = text.splitlines()
    assert "cpu: model=tigerlake, count=1, ips=100000000, reset_on_triple_fault=0" in lines
    assert "clock: sync=none, time0=%d" % bochs.TIME0 in lines
    assert "memory: guest=512, host=512" in lines
    assert 'ata0-master: type=cdrom, path="/w/nestor.iso", status=inserted' in lines
    assert "boot: cdrom" in lines
    assert 'com1: enabled=1, mode=file, dev="/w/serial.out"' in lines
    assert "port_e9_hack: enabled=1" in lines
    assert 'display_library: rfb, options="timeout=0"' in lines
    assert 'log: "/w/bochs.log"' in lines
    for line in ("panic: action=fatal", "error: action=report", "info: action=report",
                 "debug: action=ignore"):
        assert line in lines
    assert 'romimage: file="/usr/share/bochs/BIOS-bochs-latest"' in lines


def test_bochsrc_skylake_model():
    text = bochs.bochsrc("/i", "/s", "/l", "skylake-x")
    assert "cpu: model=corei7_skylake_x," in text


def test_bochs_time0_is_a_fixed_date():
    # 1 and 2 are Bochs's special values for "host local/UTC time".
    assert bochs.TIME0 > 2


def test_bochs_command():
    assert bochs.command("/w/rc", "/w/rc.rc") == ["bochs", "-q", "-f", "/w/rc", "-rc", "/w/rc.rc"]
    assert bochs.RC_FILE_TEXT.split() == ["c"]


def test_log_digest_keeps_early_vmenter_failures():
    lines = (["00001i[CPU0  ] boring %d" % i for i in range(100)] +
             ["00002e[CPU0  ] VMENTER FAIL: VMCS guest SS not segment",
              "00002e[CPU0  ] RDMSR: Unknown register 0x123"] +
             ["00003i[CPU0  ] | EAX=%d" % i for i in range(40)])
    interesting, tail = bochs.log_digest(lines)
    assert interesting == ["00002e[CPU0  ] VMENTER FAIL: VMCS guest SS not segment"]
    assert tail == lines[-40:]


def test_where_stopped():
    out = ["Next at t=0", "(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b",
           "(0).[799201856] [0x00000010020c] 0010:000000000010020c (unk. ctxt): jmp .-2 ; ebfe"]
    assert bochs.where_stopped(out) == out[2]
    assert bochs.where_stopped(out[:2]) is None


# ---- console protocol ------------------------------------------------------------------

CONSOLE = ("[hv] Nestor 0.1\r\n"
           "[d1] Hello\n"
           "[d2] other\n"
           "[d1]   indented\n"
           "[hv] stats " + json.dumps(STATS) + "\n"
           "[hv] stats {broken\n"
           "[hv] poweroff: status=1 (domain 2 failed)\n")


def test_console_parsing():
    c = console.Console(CONSOLE)
    assert c.lines[0] == "[hv] Nestor 0.1"
    assert c.domains == [STATS]
    assert len(c.bad_stats) == 1
    assert c.poweroff == (1, "(domain 2 failed)")
    assert c.status == 1
    assert c.domain_output(1) == ["Hello", "  indented"]
    assert c.domain_output(2) == ["other"]


def test_console_without_poweroff():
    c = console.Console("[hv] starting\n[hv] panic: oops")
    assert c.status is None and c.domains == []


def test_poweroff_line_parsing():
    assert console.parse_poweroff_line("[hv] poweroff: status=0 (all ok)") == (0, "(all ok)")
    assert console.parse_poweroff_line("[hv] poweroff: status=4") == (4, "")
    assert console.parse_poweroff_line("[d1] [hv] poweroff: status=0") is None
    assert console.parse_poweroff_line("[hv] poweroff: status=x") is None


def test_stats_line_parsing():
    assert console.parse_stats_line("[hv] stats " + json.dumps(STATS)) == STATS
    assert console.parse_stats_line("[hv] statsx {}") is None
    with pytest.raises(ValueError):
        console.parse_stats_line("[hv] stats {nope}")


# ---- exit statuses -----------------------------------------------------------------------

@pytest.mark.parametrize("line,timed_out,lingered,status", [
    (0, False, False, 0), (1, False, False, 1), (3, False, False, 3),
    (None, False, False, 4),                # emulator died / hv crashed
    (None, True, False, EXIT_TIMEOUT),
    (0, True, False, 0),                    # finished right at the deadline
    (0, False, True, 0),                    # lingered after poweroff
    (7, False, False, 4),                   # not a protocol status
])
def test_bochs_status(line, timed_out, lingered, status):
    got, problems = cli.bochs_status(line, timed_out, lingered)
    assert got == status
    assert bool(problems) == (line is None or lingered or line == 7)


@pytest.mark.parametrize("code,status", [(1, 0), (3, 1), (5, 2), (7, 3), (9, 4),
                                         (0, None), (2, None), (-9, None), (None, None)])
def test_qemu_exit_code(code, status):
    assert qemu.status_from_exit_code(code) == status


@pytest.mark.parametrize("line,code,timed_out,status,noisy", [
    (3, 7, False, 3, False),            # consistent
    (None, 7, False, 3, True),          # no line: trust the exit code
    (None, 0, False, 4, True),          # left some other way
    (None, 2, False, 4, True),
    (0, 0, False, 0, True),             # line but odd exit: use the line, say so
    (0, 3, False, 1, True),             # inconsistent: the worse one
    (None, -2, True, EXIT_TIMEOUT, True),
])
def test_qemu_status(line, code, timed_out, status, noisy):
    got, problems = cli.qemu_status(line, code, timed_out)
    assert got == status
    assert bool(problems) == noisy


def test_qemu_command():
    cmd = qemu.command("/w/x.iso", "/w/serial.out", 2048)
    assert cmd[0] == "qemu-system-x86_64"
    joined = " ".join(cmd)
    assert "-cdrom /w/x.iso -m 2048 -display none -serial file:/w/serial.out" in joined
    assert "-device isa-debug-exit,iobase=0xf4,iosize=0x04 -no-reboot -monitor none" in joined


# ---- command line ------------------------------------------------------------------------

def test_run_defaults():
    args = cli.build_parser().parse_args(["run", "--guest", "hello"])
    assert (args.platform, args.cpu, args.mem, args.timeout, args.loglvl) == ("bochs", None, 1024, 300, "info")
    assert args.guest == ["hello"] and args.hv_arg == [] and not args.table
    assert args.json is None and args.keep is None


def test_run_options():
    args = cli.build_parser().parse_args([
        "run", "--guest", "a:priv", "--guest", "b:args=x,y", "--platform", "qemu", "--cpu",
        "skylake-x", "--mem", "2048", "--json", "o.json", "--timeout", "10", "--loglvl", "debug",
        "--hv-arg", "k=v", "--hv-arg", "x=1", "--table", "--keep", "d"])
    assert args.guest == ["a:priv", "b:args=x,y"]
    assert args.hv_arg == ["k=v", "x=1"]
    assert (args.platform, args.cpu, args.mem, args.timeout) == ("qemu", "skylake-x", 2048, 10.0)
    assert (args.json, args.table, args.keep, args.loglvl) == ("o.json", True, "d", "debug")


def test_run_needs_something_to_run(tmp_path):
    hv = tmp_path / "hv.elf"
    hv.write_bytes(b"x")
    args = cli.build_parser().parse_args(["run", "--hv", str(hv)])
    with pytest.raises(UsageError, match="nothing to run"):
        cli.check_run_args(args)


def test_turtles_modules_put_the_hv_first_then_its_guests(tmp_path, monkeypatch):
    hv = tmp_path / "hv.elf"
    hv.write_bytes(b"x")
    guest = tmp_path / "g.elf"
    guest.write_bytes(b"\x7fELF" + b"\0" * 60)
    monkeypatch.setattr(guests, "resolve_guests", lambda specs: [
        guests.GuestSpec(name="g", image=str(guest), path=str(guest), kind="elf", mem="32M")])
    args = cli.build_parser().parse_args(["run", "--hv", str(hv), "--turtles", "g",
                                          "--l1-option", "vmcs_shadowing=0"])
    mods = cli.turtles_modules(args)
    assert mods[0][0] == str(hv)
    assert mods[0][1].startswith("mb2 name=nestor-l1 nested=1 mem=256M vmcs_shadowing=0 -- loglvl=")
    assert mods[1] == (str(guest), "mod elf name=g mem=32M")


def test_amplification_table_from_nested_stats():
    dom = {"domid": 1, "name": "l1", "ok": True, "result": "exit(0)", "vcpus": [{"nested": {
        "l2_exits": {"CPUID": {"count": 4, "reflected": 4, "l0_exits": 8, "l0_cycles": 4000,
                               "l1_cycles": 800},
                     "EPT_VIOLATION": {"count": 2, "reflected": 0, "l0_exits": 2,
                                       "l0_cycles": 600, "l1_cycles": 0}}}}]}
    assert stats.amplification_rows(dom) == [
        ["CPUID", "4", "4", "2.00", "1000.0", "200.0"],
        ["EPT_VIOLATION", "2", "0", "1.00", "300.0", "0.0"]]
    text = stats.render_amplification([dom, {"domid": 2, "name": "plain", "vcpus": [{}]}])
    assert "Exit amplification" in text and "plain" not in text
    assert stats.render_amplification([{"vcpus": [{}]}]) == ""


@pytest.mark.parametrize("argv", [
    [], ["run", "--guest", "a", "--platform", "vmware"],
    ["run", "--guest", "a", "--cpu", "i386"], ["run", "--guest", "a", "--mem", "lots"],
])
def test_usage_errors_exit_64(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(argv)
    assert e.value.code == EXIT_USAGE


def test_help_mentions_every_guest_option(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--help"])
    out = capsys.readouterr().out
    for word in ("kind=elf|mb1|mb2", "mem=SIZE", "priv", "name=X", "mod=PATH", "args=", "124"):
        assert word in out


def test_build_runs_make_in_repo_root(monkeypatch):
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd, cwd: calls.append((cmd, cwd)) or 7)
    assert cli.main(["build"]) == 7         # make's status passes through
    assert calls == [(["make", "build"], REPO_ROOT)]


def test_run_without_hypervisor_fails_clearly(tmp_path, capsys):
    status = cli.main(["run", "--hv", str(tmp_path / "none.elf"), "--guest", "hello"])
    assert status == EXIT_USAGE
    assert "nestor build" in capsys.readouterr().err


def test_bad_hv_arg_is_refused(tmp_path, capsys):
    hv = tmp_path / "hv.elf"
    hv.write_bytes(b"x")
    assert cli.main(["run", "--hv", str(hv), "--guest", "/bin/true", "--hv-arg", "novalue"]) == EXIT_USAGE


# ---- stats and the table ------------------------------------------------------------------

def test_domain_exits_sums_vcpus_and_adds_other():
    d = {"vcpus": [STATS["vcpus"][0],
                   {"vcpu": 1, "total_exits": 5, "total_cycles": 1000,
                    "exits": {"CPUID": {"count": 4, "cycles": 800}}}]}
    assert stats.domain_exits(d) == {"CPUID": [7, 1700], "IO_INSTRUCTION": [9, 2556],
                                     stats.OTHER: [1, 200]}


def test_domain_exits_tolerates_missing_fields():
    assert stats.domain_exits({"domid": 3, "result": "crashed"}) == {}


def test_render_table():
    other = {"domid": 2, "name": "h2", "result": "killed", "ok": False,
             "vcpus": [{"vcpu": 0, "total_exits": 1, "total_cycles": 50,
                        "exits": {"HLT": {"count": 1, "cycles": 50}}}]}
    text = stats.render_table([STATS, other])
    lines = text.splitlines()
    assert lines[0] == "Domain 1  hello  result=exit(0)  ok  (1 vCPU)"
    assert lines[1].split() == ["exit", "reason", "count", "hv", "cycles", "cycles/exit"]
    assert lines[2].split() == ["IO_INSTRUCTION", "9", "2556", "284.0"]     # costliest first
    assert lines[3].split() == ["CPUID", "3", "900", "300.0"]
    assert lines[4].split() == ["total", "12", "3456", "288.0"]
    assert "Domain 2  h2  result=killed  FAILED  (1 vCPU)" in lines
    i = lines.index("All domains (2)")
    assert lines[i + 2].split() == ["IO_INSTRUCTION", "9", "2556", "284.0"]
    assert lines[-1].split() == ["total", "13", "3506", "269.7"]
    # numbers are right-aligned in shared columns
    rows = [l for l in lines if l.startswith("  ") and not l.strip().startswith("exit")]
    assert len({len(l) for l in rows}) == 1


def test_report_and_stats_command(tmp_path, capsys):
    path = tmp_path / "r.json"
    stats.write_report(str(path), stats.report("bochs", "tigerlake", 0, [STATS]))
    doc = json.loads(path.read_text())
    assert doc["platform"] == "bochs" and doc["cpu"] == "tigerlake" and doc["status"] == 0
    assert doc["domains"] == [STATS]
    assert cli.main(["stats", str(path)]) == 0
    assert "IO_INSTRUCTION" in capsys.readouterr().out


def test_stats_command_bad_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["stats", str(bad)]) == EXIT_USAGE
    assert cli.main(["stats", str(tmp_path / "missing.json")]) == EXIT_USAGE


# ---- streaming runner (a shell command stands in for the emulator) -------------------------

def test_serial_tail_streams_and_spots_poweroff(tmp_path):
    path = tmp_path / "serial.out"
    path.write_bytes(b"")
    seen = []
    tail = runner.SerialTail(str(path), seen.append)
    with open(path, "ab") as f:
        f.write(b"[hv] hi\n[hv] power")
    tail.pump()
    assert not tail.poweroff_seen
    with open(path, "ab") as f:
        f.write(b"off: status=0 (ok)\r\n\xc3")      # half a UTF-8 character
    tail.pump()
    assert tail.poweroff_seen
    with open(path, "ab") as f:
        f.write(b"\xa9\n")
    tail.pump(final=True)
    assert "".join(seen) == tail.text == "[hv] hi\n[hv] poweroff: status=0 (ok)\r\n\u00e9\n"


def test_run_streaming_normal_exit(tmp_path):
    serial = tmp_path / "serial.out"
    seen = []
    out = runner.run_streaming(["sh", "-c", "printf '[hv] a\\n' > %s; exit 3" % serial],
                               str(serial), str(tmp_path / "emu.out"), seen.append, timeout=20)
    assert (out.returncode, out.timed_out, out.console) == (3, False, "[hv] a\n")
    assert "".join(seen) == "[hv] a\n"


def test_run_streaming_timeout_kills_the_group(tmp_path):
    serial = tmp_path / "serial.out"
    pidfile = tmp_path / "child.pid"
    script = "printf 'x\\n' > %s; sleep 60 & echo $! > %s; wait" % (serial, pidfile)
    out = runner.run_streaming(["sh", "-c", script], str(serial), str(tmp_path / "emu.out"),
                               lambda t: None, timeout=1)
    assert out.timed_out and out.console == "x\n"
    assert dies_soon(int(pidfile.read_text()))     # the background sleep died with its group


def dies_soon(pid, seconds=5):
    """SIGKILL is asynchronous: on a loaded machine the process may take a
    moment to go."""
    end = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def alive(pid):
    """Running (a killed orphan may linger as a zombie until init reaps it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_run_streaming_stops_lingering_emulator(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "POWEROFF_GRACE_SECONDS", 0.3)
    serial = tmp_path / "serial.out"
    script = "printf '[hv] poweroff: status=0 (ok)\\n' > %s; sleep 60" % serial
    out = runner.run_streaming(["sh", "-c", script], str(serial), str(tmp_path / "emu.out"),
                               lambda t: None, timeout=30, stop_signal=signal.SIGTERM)
    assert out.lingered and not out.timed_out


# ---- the integration-test helper's result object ---------------------------------------------

def test_nestor_run_result_helpers():
    from nestor_run import NestorRun
    r = NestorRun(["py", "nestor", "run"], 1, CONSOLE, "nestor: status 1\n",
                  {"status": 1, "domains": [STATS]})
    assert r.domains == [STATS]
    assert r.domain("hello") is r.domains[0]
    assert r.domain_output(1) == ["Hello", "  indented"]
    assert r.domain_output("hello") == ["Hello", "  indented"]
    assert r.domain_output(2) == ["other"]
    assert r.hv_output()[0] == "Nestor 0.1"
    with pytest.raises(KeyError):
        r.domain("nosuch")
    assert "status: 1" in str(r)

"""Bad boot modules and bad VMCS state: a clear error naming the module or
the failed check, that domain alone is lost, the others run."""

import os

import pytest

from checks import guest_passed, hv_line, killed
from nestor_run import REPO_ROOT, run_nestor

HELLO = os.path.join(REPO_ROOT, "build", "guests", "hello.elf")


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    data = open(HELLO, "rb").read()
    files = {
        "truncated": data[:200],        # inside the program headers
        "truncated2": data[:2048],      # inside the first segment
        "junk": bytes((i * 37 + 11) % 256 for i in range(4096)),
        "hello": data,
    }
    paths = {}
    for name, content in files.items():
        p = d / name
        p.write_bytes(content)
        paths[name] = str(p)
    return paths


@pytest.fixture(scope="module")
def modules_run(bad_files):
    raw = [
        "%s::elf name=truncated mem=8M" % bad_files["truncated"],
        "%s::elf name=truncated2 mem=8M" % bad_files["truncated2"],
        "%s::elf name=junk mem=8M" % bad_files["junk"],
        "%s::mb1 name=nomb mem=8M" % bad_files["hello"],
        "%s::bogus name=unknownkind" % bad_files["hello"],
        "%s::elf name=huge mem=2G" % bad_files["hello"],
        "%s::elf name=badmem mem=9T" % bad_files["hello"],
        "%s::elf name=badopt colour=blue" % bad_files["hello"],
        "%s::mod orphan" % bad_files["hello"],
    ]
    args = []
    for r in raw:
        args += ["--raw-module", r]
    return run_nestor(["hello"], extra_args=args + ["--mem", "512"])


def test_good_domain_runs(modules_run):
    guest_passed(modules_run, "hello")
    # Rejected modules count as failures in the summary.
    assert modules_run.status == 1, modules_run
    hv_line(modules_run, "poweroff: status=1 (1 domain(s), 1 ok, 0 failed, 9 module(s) rejected)")


@pytest.mark.parametrize("fragment", [
    "domain 'truncated' not created: program headers beyond the image",
    "domain 'truncated2' not created: segment at 0x100000: file bytes",
    "domain 'junk' not created: not an ELF image",
    "domain 'nomb' not created: no multiboot header in the first 8 KiB",
    "rejected: unknown kind 'bogus'",
    "domain 'huge' not created: needs 2048 MiB of RAM but only",
    "rejected: mem=9T: need a size from 4M to 2G",
    "rejected: unknown option 'colour=blue'",
    "rejected: a mod module needs a domain module before it",
])
def test_module_errors(modules_run, fragment):
    hv_line(modules_run, fragment)


def test_no_domain_at_all(bad_files):
    # The only guest is unusable: nothing to run, status 2.
    run = run_nestor(["%s:kind=elf,name=junkonly" % bad_files["junk"]])
    assert run.status == 2, run
    hv_line(run, "domain 'junkonly' not created: not an ELF image")


def test_vm_entry_failures():
    run = run_nestor(["hello:name=badstate,debug=bad-guest-state",
                      "hello:name=badctl,debug=bad-controls", "hello:name=good"])
    assert run.status == 1, run
    killed(run, "badstate", "VM entry failed: invalid guest state", "guest CS is unusable")
    killed(run, "badctl", "VM entry failed: VMfailValid, error 7",
           "VM entry with invalid control field(s)")
    guest_passed(run, "good")


def test_hv_exception_dumps_and_halts():
    run = run_nestor(["hello"], extra_args=["--hv-arg", "selftest=exception"])
    assert run.status == 4, run
    hv_line(run, "PANIC: hypervisor exception 6 (#UD invalid opcode)")
    for reg in ("rip=", "rax=", "cr0=", "r13="):
        hv_line(run, reg)
    hv_line(run, "poweroff: status=4 (hypervisor exception)")

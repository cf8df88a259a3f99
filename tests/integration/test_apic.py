"""The emulated local APIC (xAPIC): the apic guest's checks as an ELF64
domain and as a multiboot v1 kernel side by side (two APIC timers in one
scheduler), and accesses the hv cannot emulate, which end only the domain
that made them."""

import pytest

from checks import guest_passed, killed
from nestor_run import run_nestor


def test_apic_guest(nestor):
    run = nestor(["apic", "apic_mb:kind=mb1,name=apic_mb1"])
    assert run.status == 0, run
    for name in ("apic", "apic_mb1"):
        assert guest_passed(run, name) >= 65
        exits = run.domain(name)["vcpus"][0]["exits"]
        # Every register access is an EPT violation the hv emulated; the
        # HLT that the timer ended and the TPR/CR8 interrupt windows too.
        assert exits["EPT_VIOLATION"]["count"] > 100, exits
        assert exits["HLT"]["count"] >= 1, exits
        assert exits["INTERRUPT_WINDOW"]["count"] >= 1, exits


@pytest.fixture(scope="module")
def bad_run():
    return run_nestor([
        "apic:name=badinsn,args=bad-insn",
        "apic:name=hidden,args=disabled-access",
        "apic:name=initself,args=init-self",
        "apic:name=good",
        "sched_spin:name=victim",    # CPU-bound, next to them
    ])


def test_others_unaffected(bad_run):
    assert bad_run.status == 1, bad_run
    guest_passed(bad_run, "good")
    guest_passed(bad_run, "victim")
    assert any(l.startswith("poweroff: status=1 (5 domain(s), 2 ok, 3 failed")
               for l in bad_run.hv_output()), bad_run


@pytest.mark.parametrize("name,fragments", [
    # An OR to the page: not one of the MOV forms the decoder handles.
    ("badinsn", ("local APIC access at 0xfee00080", "instruction not emulated", "bytes 83 08 00")),
    # After the global disable the page is not there: any access is outside RAM.
    ("hidden", ("read of guest-physical 0xfee00030", "outside its 32 MiB of RAM")),
    # One vCPU: an INIT to itself would reset it, which is not emulated.
    ("initself", ("local APIC write of 0x44500 to offset 0x300", "INIT IPI to itself")),
])
def test_killed(bad_run, name, fragments):
    killed(bad_run, name, *fragments)
    assert not any(l.startswith("FAIL") for l in bad_run.domain_output(name)), bad_run

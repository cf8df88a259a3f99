"""A domain that reaches outside its RAM is killed and reported; the hv and
the other domains carry on and finish correctly."""

import pytest

from checks import guest_passed, killed
from nestor_run import run_nestor


@pytest.fixture(scope="module")
def run():
    return run_nestor([
        "isolation:name=fill",
        "isolation:name=read-end,args=read",                    # first byte past RAM
        "isolation:name=write-1g,args=write addr=0x40000000",   # other domains' host memory
        "isolation:name=write-hv,args=write addr=0x3ff00000",
        "isolation:name=exec-apic,args=exec addr=0xfee00000",   # the hv's local APIC
        "sched_spin:name=victim,args=window=30000000",
    ])


def test_hv_survives(run):
    assert run.status == 1, run          # some domains were killed, none crashed the hv
    assert any(l.startswith("poweroff: status=1 (6 domain(s), 2 ok, 4 failed") for l in run.hv_output()), run


def test_fill_and_hypercall_pointers(run):
    guest_passed(run, "fill")


def test_victim_unaffected(run):
    guest_passed(run, "victim")


@pytest.mark.parametrize("name,fragment", [
    ("read-end", "read of guest-physical 0x2000000"),
    ("write-1g", "write of guest-physical 0x40000000"),
    ("write-hv", "write of guest-physical 0x3ff00000"),
    ("exec-apic", "instruction fetch of guest-physical 0xfee00000"),
])
def test_killed(run, name, fragment):
    killed(run, name, fragment, "outside its 32 MiB of RAM")
    assert not any("completed" in l or "returned" in l for l in run.domain_output(name)), run

"""Every hypercall, good and bad arguments, as dom0 and as a domU (with a
spinning peer that dom0 pauses and unpauses)."""

import pytest

from checks import guest_passed
from nestor_run import run_nestor


@pytest.fixture(scope="module")
def run():
    return run_nestor(["hypercalls:priv,name=dom0", "hypercalls:name=domu",
                       "sched_spin:args=window=40000000"])


def test_status(run):
    assert run.status == 0, run


def test_dom0(run):
    assert guest_passed(run, "dom0") >= 70
    assert run.domain("dom0")["domid"] == 0


def test_domu(run):
    assert guest_passed(run, "domu") >= 60


def test_console_io_output_is_prefixed(run):
    assert "console_io says hello" in run.domain_output("domu"), run
    # A CPL 3 caller was refused: its text never reached the console.
    assert not any("from user mode" in l for l in run.lines), run

"""Dirty-tracking contexts for guest kernels: exact windows, clear, ring
wrap-around, overflow with interrupt, errors; and coexistence with dom0's
log-dirty on the same EPT dirty flags (both must be exact)."""

import pytest

from checks import guest_passed


def test_track_contexts(nestor):
    run = nestor("track:mem=16M")
    assert run.status == 0, run
    assert guest_passed(run, "track") >= 40


@pytest.mark.parametrize("mode", ["pml", "wp"])
def test_coexists_with_logdirty(nestor, mode):
    run = nestor(["logdirty:priv,name=tracker,args=target=1",
                  "dirty_writer:name=writer,logdirty=%s,args=track" % mode])
    assert run.status == 0, run
    guest_passed(run, "tracker")
    out = run.domain_output("writer")
    assert sum("own tracking context" in l and l.startswith("PASS") for l in out) == 8, run
    guest_passed(run, "writer")


def test_domain_ends_while_tracked(nestor):
    """dom0 tracks a domain that ends with its own contexts registered and
    enabled: everything is freed, later operations fail cleanly, and the
    other domains run on."""
    run = nestor(["logdirty:priv,name=tracker,args=target=1 dying",
                  "track:name=leaver,mem=16M,args=leave",
                  "sched_spin:name=bystander,args=window=30000000"])
    assert run.status == 0, run
    for name in ("tracker", "leaver", "bystander"):
        guest_passed(run, name)
    assert any("its memory is released (flags 0x" in l and "0 pages" in l
               for l in run.domain_output("tracker")), run

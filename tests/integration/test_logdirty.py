"""Log-dirty through Xen's shadow_op: dom0 tracks a writer domain round by
round and the bitmaps must match the written pattern exactly, with PML and
with the classic write-protection mode."""

import pytest

from checks import guest_passed


@pytest.mark.parametrize("mode", ["pml", "wp"])
def test_logdirty_exact(nestor, mode):
    run = nestor(["logdirty:priv,name=tracker,args=target=1",
                  "dirty_writer:name=writer,logdirty=%s" % mode])
    assert run.status == 0, run
    assert guest_passed(run, "tracker") >= 35
    guest_passed(run, "writer")
    exits = run.domain("writer")["vcpus"][0]["exits"]
    if mode == "pml":
        # The dense round logs more pages than one 512-entry buffer holds.
        assert exits["PML_FULL"]["count"] >= 4, exits
        assert "EPT_VIOLATION" not in exits, exits
    else:
        assert "PML_FULL" not in exits, exits
        assert exits["EPT_VIOLATION"]["count"] >= 3000, exits


@pytest.mark.parametrize("mode", ["pml", "wp"])
def test_logdirty_exact_on_spp_pages(nestor, mode):
    """Every written page is SPP-protected with the written sub-pages
    permitted (no VM exit of their own): log-dirty must still be exact."""
    run = nestor(["logdirty:priv,name=tracker,args=target=1",
                  "dirty_writer:name=writer,mem=16M,logdirty=%s,args=spp" % mode])
    assert run.status == 0, run
    guest_passed(run, "tracker")
    guest_passed(run, "writer")

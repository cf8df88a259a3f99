"""SPP sub-page write protection (nestor_op NESTOR_OP_spp_*): random vectors
on several pages, every sub-page written, stopped writes recorded and never
landing; the error cases; the fuzzer; a CPU without SPP; domains ending
with pages still protected; and the cost of permitted and stopped writes."""

import re

import pytest

from checks import guest_passed, hv_line, killed
from nestor_run import run_nestor

BENCH_RE = re.compile(r"^BENCH (\w+)=(\d+)$")


def bench_values(run, name):
    out = {}
    for line in run.domain_output(name):
        m = BENCH_RE.match(line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


@pytest.fixture(scope="module")
def run():
    return run_nestor(["spp:args=seed=7 rounds=3"])


def test_status(run):
    assert run.status == 0, run


def test_every_sub_page_as_its_vector_says(run):
    # 3 rounds x 6 pages x 5 checks, then the edge, limit and error cases.
    assert guest_passed(run, "spp") >= 170
    out = run.domain_output("spp")
    assert not any(l.startswith("SKIP") for l in out), run
    assert "SPP yes" in hv_line(run, "VMX features:")


def test_stopped_writes_are_ept_violations_and_nothing_else(run):
    exits = run.domain("spp")["vcpus"][0]["exits"]
    # Every stopped write is one EPT violation; the SPPT is never missing
    # or misconfigured (exit 66).
    assert exits["EPT_VIOLATION"]["count"] >= 200, exits
    assert "SPP_EVENT" not in exits, exits


def test_emulator_tlb_probe_is_reported(run):
    # Informational: on Bochs 2.7 a permitted write leaves the page writable
    # in the TLB; the guest says what it saw either way.
    assert any(l.startswith("INFO: TLB probe:") for l in run.domain_output("spp")), run


def test_cpu_without_spp():
    run = run_nestor(["spp"], cpu="skylake-x")
    assert run.status == 0, run
    assert "SPP no" in hv_line(run, "VMX features:")
    guest_passed(run, "spp")
    out = run.domain_output("spp")
    assert any(l.startswith("SKIP: SPP unavailable") and "-EOPNOTSUPP" in l for l in out), run
    assert any("spp_set -> -EOPNOTSUPP" in l for l in out), run


def test_fuzzer():
    run = run_nestor(["sppfuzz:args=iterations=25000 seed=3"], timeout=600)
    assert run.status == 0, run
    guest_passed(run, "sppfuzz")
    out = run.domain_output("sppfuzz")
    assert any(l.startswith("25000 SPP calls:") and " 0 odd" in l for l in out), run
    # Each fuzzed call is followed by the fuzzer's safety sweep.
    vmcalls = run.domain("sppfuzz")["vcpus"][0]["exits"]["VMCALL"]["count"]
    assert vmcalls >= 50000, vmcalls


def test_domains_ending_with_pages_protected():
    """With 68 pages protected each: one domain exits; one is killed for a
    stopped write it cannot take the #GP for (no IDT: triple fault); one
    protects its own stack (the #GP and then the #DF frames are stopped
    writes too: triple fault, named by the hv); one protects its page
    tables (page walks write them, which SPP never allows).  A fifth runs
    beside them.  The hv frees every SPP table and powers off normally."""
    run = run_nestor(["spp:name=sppkill,args=end=kill", "spp:name=sppexit,args=end=exit",
                      "spp:name=sppstack,args=end=stack", "spp:name=spppt,args=end=pt",
                      "hello"], extra_args=("--loglvl", "debug"))
    assert run.status == 1, run          # domains were killed: not a panic (4)
    killed(run, "sppkill", "triple fault")
    killed(run, "sppstack", "triple fault: SPP stopped a write", "while delivering #DF")
    killed(run, "spppt", "SPP-protected guest-physical", "paging-structure access")
    guest_passed(run, "sppexit")
    guest_passed(run, "hello")
    assert "status=1" in hv_line(run, "poweroff:")
    for name in ("sppkill", "sppexit", "sppstack", "spppt"):
        domid = run.domid(name)
        line = hv_line(run, "domain %d: SPP off" % domid)
        want = "68 protected page(s), 6 SPPT page(s)" if name in ("sppkill", "sppexit") else \
               "protected page(s)"
        assert want in line and "freed" in line, line


def test_bench():
    run = run_nestor(["spp:args=bench"])
    assert run.status == 0, run
    guest_passed(run, "spp")
    b = bench_values(run, "spp")
    assert b["spp_permitted_write_exits"] == 0, b
    # A stopped write: an exit, the hv's work and the guest's #GP.
    assert b["spp_stopped_write_cycles"] > b["guest_gp_fault_cycles"], b
    assert b["spp_stopped_write_hv_cycles"] > 0, b

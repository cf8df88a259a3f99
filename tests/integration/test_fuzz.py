"""Hypercall fuzzing: 100,000 random hypercalls each from a dom0 and a domU;
the hv survives and both guests finish."""

from checks import guest_passed


def test_hypercall_fuzzer(nestor):
    run = nestor(["hcfuzz:priv,name=fuzz0,args=iterations=100000 seed=1",
                  "hcfuzz:name=fuzzu,args=iterations=100000 seed=2"], timeout=600)
    assert run.status == 0, run
    for name in ("fuzz0", "fuzzu"):
        guest_passed(run, name)
        # Random console_io writes may precede the summary on its line.
        assert any("100000 hypercalls:" in l for l in run.domain_output(name)), run
        vmcalls = run.domain(name)["vcpus"][0]["exits"]["VMCALL"]["count"]
        assert vmcalls >= 100000, vmcalls

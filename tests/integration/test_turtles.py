"""Nestor as its own L1 ("turtles", docs/NESTED.md): the same hypervisor
image boots as a nested=1 domain of Nestor and runs test guests as L2,
next to an ordinary L1 domain."""

import json

from checks import guest_passed


def l1_console(run):
    """What the L1 Nestor printed (its own [hv] lines and its guests')."""
    return run.domain_output("nestor-l1")


def l2_stats(run, name):
    """The L1 Nestor's statistics line for its guest `name` (L0's console
    cuts a guest's long line into pieces of its line buffer: join them)."""
    out = l1_console(run)
    for i, line in enumerate(out):
        if line.startswith("[hv] stats ") and '"name":"%s"' % name in line:
            text = line[len("[hv] stats "):]
            for more in out[i + 1:i + 20]:
                try:
                    return json.loads(text)
                except ValueError:
                    text += more
            return json.loads(text)
    raise AssertionError("L1 printed no statistics for %s\n%s" % (name, run))


def l2_result(run, name):
    out = [l[len("[d1] "):] for l in l1_console(run) if l.startswith("[d1] ")]
    fails = [l for l in out if l.startswith("FAIL")]
    assert not fails, (fails, run)
    assert any(l.startswith("RESULT: ") and l.endswith(" 0 failed") for l in out), run
    assert l2_stats(run, name)["result"] == "exit(0)", run


def test_nestor_runs_nestor_runs_guests(nestor):
    run = nestor(["hello"], extra_args=["--turtles", "cpuid_msr_io", "--turtles", "hello:name=l2-hello"])
    assert run.status == 0, run
    guest_passed(run, "hello")                      # the plain L1 domain
    assert any("VMX on: revision 827540814" in l for l in l1_console(run)), run   # "NES1"
    l2_result(run, "cpuid_msr_io")
    assert l2_stats(run, "l2-hello")["ok"], run
    l1 = run.domain("nestor-l1")
    assert l1["ok"] and l1["result"] == "exit(0)", run
    amp = l1["vcpus"][0]["nested"]["l2_exits"]
    # L2's CPUID, MSR and I/O exits went to L1; EPT02 fills stayed in L0.
    for reason in ("CPUID", "RDMSR", "WRMSR", "IO_INSTRUCTION"):
        assert amp[reason]["reflected"] > 0, (reason, amp)
    assert amp["EPT_VIOLATION"]["reflected"] == 0 and amp["EPT_VIOLATION"]["count"] > 0, amp
    # With VMCS shadowing an L2 CPUID costs L0 the reflection, L1's VMRESUME
    # and only the exits L1's own handling makes (no VMREAD/VMWRITE of hot
    # fields).
    assert amp["CPUID"]["l0_exits"] / amp["CPUID"]["count"] < 6, amp


def test_turtles_without_vmcs_shadowing(nestor):
    run = nestor([], extra_args=["--turtles", "hello", "--l1-option", "vmcs_shadowing=0"])
    assert run.status == 0, run
    amp = run.domain("nestor-l1")["vcpus"][0]["nested"]["l2_exits"]
    exits = run.domain("nestor-l1")["vcpus"][0]["exits"]
    assert exits["VMREAD"]["count"] > amp["IO_INSTRUCTION"]["count"], exits
    assert l2_stats(run, "hello")["ok"], run

"""Nested VMX, VM entry and exit (docs/NESTED.md): vmx_l2, an L1 hypervisor
written against the SDM only, runs a 64-bit L2 under its own vmcs12 and
EPT12 next to a plain domain; its bench mode; and the same guest booted as
the kernel on the emulator's own VT-x, which checks the test itself."""

import os
import re

from checks import guest_passed, hv_line
from nestor_run import REPO_ROOT

BARE_IMAGE = os.path.join(REPO_ROOT, "build", "guests", "vmx_l2_mb.elf")


def nested_stats(run, name):
    return run.domain(name)["vcpus"][0].get("nested", {})


def test_vmx_l2_alongside_a_plain_domain(nestor):
    run = nestor(["vmx_l2:nested=1", "hello"])
    assert run.status == 0, run
    assert guest_passed(run, "vmx_l2") >= 300
    guest_passed(run, "hello")
    exits = run.domain("vmx_l2")["vcpus"][0]["exits"]
    for reason in ("VMLAUNCH", "VMRESUME", "INVEPT", "INVVPID"):
        assert exits.get(reason, {}).get("count", 0) > 0, (reason, exits)
    l2 = nested_stats(run, "vmx_l2").get("l2_exits", {})
    # Every kind of exit the guest provokes reached L1 (keyed by the reason
    # L0 saw: EPT12 misconfigurations arrive at L0 as EPT02 violations) ...
    for reason in ("CPUID", "VMCALL", "HLT", "IO_INSTRUCTION", "RDMSR", "WRMSR", "EXCEPTION_NMI",
                   "CR_ACCESS", "PREEMPTION_TIMER", "INTERRUPT_WINDOW", "EPT_VIOLATION",
                   "TRIPLE_FAULT", "INVEPT", "INVVPID"):
        assert l2.get(reason, {}).get("reflected", 0) > 0, (reason, l2)
    # ... and the ones L1 does not intercept stayed with L0: port 0x80 and
    # 0x7fff outside the I/O bitmaps, SYSENTER_CS/TSC_AUX outside the MSR
    # bitmap, the HLT under L1's preemption timer, EPT02 fills.
    for reason in ("IO_INSTRUCTION", "RDMSR", "WRMSR", "HLT", "EPT_VIOLATION"):
        st = l2.get(reason, {})
        assert st.get("count", 0) > st.get("reflected", 0), (reason, st)


def test_vmx_l2_subset(nestor):
    run = nestor("vmx_l2:nested=1,args=only=cpuid,ept")
    assert run.status == 0, run
    guest_passed(run, "vmx_l2")
    out = run.domain_output("vmx_l2")
    assert "---- cpuid" in out and "---- ept" in out, out
    assert "---- io" not in out and "---- entry" not in out, out


def test_vmx_l2_bench(nestor):
    run = nestor("vmx_l2:nested=1,args=bench n=50")
    assert run.status == 0, run
    out = run.domain_output("vmx_l2")
    for kind in ("cpuid", "vmcall", "out", "rdmsr", "fill"):
        lines = [l for l in out if re.match(r"^BENCH %s l2_roundtrip=\d+ l1_roundtrip=\d+ n=50$" % kind, l)]
        assert lines, (kind, out)
    # No check noise: one summary check only.
    assert [l for l in out if l.startswith("PASS")] == ["PASS: bench: every loop ran to its end (5/5)"], out
    l2 = nested_stats(run, "vmx_l2").get("l2_exits", {})
    for reason in ("CPUID", "VMCALL", "IO_INSTRUCTION", "RDMSR"):
        assert l2.get(reason, {}).get("reflected", 0) >= 50, (reason, l2)
    # The fill loop's first touches are EPT02 fills that L0 handles alone.
    assert l2["EPT_VIOLATION"]["count"] >= 50 and l2["EPT_VIOLATION"]["reflected"] == 0, l2


def test_vmx_l2_without_nested_fails_cleanly(nestor):
    run = nestor(["vmx_l2", "hello"])
    assert run.status == 1, run
    assert any(l.startswith("FAIL: CPUID.1:ECX.VMX = 1") for l in run.domain_output("vmx_l2")), run
    guest_passed(run, "hello")


def test_vmx_l2_on_bare_emulator_vtx(nestor):
    # The test guest as the kernel, on Bochs's own VT-x: its expectations
    # are the hardware's (Bochs 2.7 never delivers MTF exits, so the mtf
    # group is opt-in).  The tool builds the ISO with one domain module,
    # which the guest ignores.
    run = nestor(["hello"], extra_args=("--hv", BARE_IMAGE))
    assert run.status == 0, run
    assert not [l for l in run.lines if l.startswith("FAIL")], run
    res = [l for l in run.lines if l.startswith("RESULT: ")]
    assert res and int(res[-1].split()[1]) >= 300 and res[-1].endswith(" 0 failed"), run
    hv_line(run, "poweroff: status=0 (bare metal")

"""CPUID policy, MSRs, port I/O devices and control registers."""

from checks import guest_passed


def test_cpuid_msr_io(nestor):
    run = nestor("cpuid_msr_io")
    assert run.status == 0, run
    assert guest_passed(run, "cpuid_msr_io") >= 40
    assert "rep outsb reached the console" in run.domain_output("cpuid_msr_io"), run
    exits = run.domain("cpuid_msr_io")["vcpus"][0]["exits"]
    for reason in ("CPUID", "RDMSR", "WRMSR", "IO_INSTRUCTION", "CR_ACCESS"):
        assert exits.get(reason, {}).get("count", 0) > 0, (reason, exits)

"""The same ISO under QEMU TCG (no VMX): one clear line and status 3."""


def test_qemu_reports_missing_vmx(nestor):
    run = nestor("hello", platform="qemu", timeout=120)
    assert run.status == 3, run
    assert any("VMX requirement missing: CPUID.1:ECX.VMX[bit 5] = 0" in l for l in run.hv_output()), run
    assert "poweroff: status=3 (no VMX)" in run.hv_output(), run

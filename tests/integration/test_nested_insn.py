"""Nested VMX, instruction level (docs/NESTED.md): the virtual VT-x a
nested=1 domain sees, every VMX instruction and its error paths, a VMX
instruction fuzzer, and that none of it leaks into other domains."""

from checks import guest_passed, hv_line, killed

VMX_EXITS = ("VMXON", "VMXOFF", "VMCLEAR", "VMPTRLD", "VMPTRST", "VMREAD", "VMWRITE",
             "VMLAUNCH", "VMRESUME", "INVEPT", "INVVPID")


def exits_of(run, name):
    return run.domain(name)["vcpus"][0]["exits"]


def test_vmx_insn_with_nested_alongside_a_plain_domain(nestor):
    run = nestor(["vmx_insn:nested=1", "cpuid_msr_io"])
    assert run.status == 0, run
    assert guest_passed(run, "vmx_insn") >= 340
    out = run.domain_output("vmx_insn")
    basic = [l for l in out if l.startswith("MSR 0x480 IA32_VMX_BASIC")]
    assert basic and basic[0].endswith("0x00d810003153454e"), out[:20]
    exits = exits_of(run, "vmx_insn")
    for reason in VMX_EXITS:
        assert exits.get(reason, {}).get("count", 0) > 0, (reason, exits)
    # The domain without nested=1 still has no VMX at all (CPUID, MSRs,
    # CR4.VMXE, VMXON -> #UD): cpuid_msr_io checks exactly that.
    guest_passed(run, "cpuid_msr_io")


def test_vmx_insn_without_nested(nestor):
    run = nestor("vmx_insn:args=nested=0")
    assert run.status == 0, run
    assert guest_passed(run, "vmx_insn") >= 17
    assert any("VMXON -> #UD" in l for l in run.domain_output("vmx_insn")), run


def test_vmx_fuzzer(nestor):
    # Without VMCS shadowing every VMX instruction exits and is emulated.
    run = nestor(["vmxfuzz:nested=1,vmcs_shadowing=0,args=iterations=12000 seed=7", "hello"])
    assert run.status == 0, run
    guest_passed(run, "vmxfuzz")
    out = run.domain_output("vmxfuzz")
    assert not [l for l in out if l.startswith("MISMATCH")], run
    assert any("12000 iterations, 0 mismatches" in l for l in out), run
    exits = exits_of(run, "vmxfuzz")
    total = sum(exits.get(r, {}).get("count", 0) for r in VMX_EXITS)
    assert total >= 12000, exits
    guest_passed(run, "hello")


def test_vmx_fuzzer_with_vmcs_shadowing(nestor):
    # With shadowing (the default) VMREAD/VMWRITE of the hot fields do not
    # exit: the same model of the SDM must still hold for every field,
    # shadowed or not, and for the memory written back.
    run = nestor(["vmxfuzz:nested=1,args=iterations=12000 seed=7", "hello"])
    assert run.status == 0, run
    out = run.domain_output("vmxfuzz")
    assert not [l for l in out if l.startswith("MISMATCH")], run
    assert any("12000 iterations, 0 mismatches" in l for l in out), run
    exits = exits_of(run, "vmxfuzz")
    total = sum(exits.get(r, {}).get("count", 0) for r in VMX_EXITS)
    assert total < 12000, exits


def test_vm_entry_refuses_random_vmcs(nestor):
    # VMLAUNCH of VMCSs full of random values reaches the emulated VM
    # entry, whose checks refuse them (VMfailValid 7 or 8); two other
    # domains, one of them nested, finish.
    run = nestor(["vmxfuzz:nested=1,name=launcher,args=iterations=3000 seed=3 launch",
                  "vmx_insn:nested=1", "hello"])
    assert run.status == 0, run
    assert guest_passed(run, "launcher") >= 6
    assert not [l for l in run.domain_output("launcher")
                if l.startswith("MISMATCH") or l.startswith("FAIL")], run
    guest_passed(run, "vmx_insn")


def test_operand_outside_ram_ends_only_that_domain(nestor):
    # L1's page tables map a VMPTRST operand to guest-physical memory past
    # its RAM: the hv writes nothing there and ends the domain, as for any
    # access outside RAM.  The other domain is unaffected.
    run = nestor(["vmx_insn:nested=1,name=outside,args=outside", "hello"])
    assert run.status == 1, run
    killed(run, "outside", "VMX instruction operand", "guest-physical address outside the domain's RAM")
    assert not [l for l in run.domain_output("outside") if l.startswith("FAIL")], run
    guest_passed(run, "hello")


def test_nested_option_is_checked(nestor):
    run = nestor(["hello:nested=2", "hello:name=h2"])
    assert run.status == 1, run
    hv_line(run, "nested=2: want 0 or 1")
    guest_passed(run, "h2")

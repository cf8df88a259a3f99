"""Booting guests by each protocol: ELF64 (Nestor start info), multiboot v1
and multiboot v2, with modules and command lines; the statistics report."""

import os

import pytest

from checks import guest_passed
from nestor_run import run_nestor


@pytest.fixture(scope="module")
def boot(tmp_path_factory):
    env = tmp_path_factory.mktemp("mods") / "env.txt"
    env.write_text("KEY=VAL\nOTHER=2\n")
    run = run_nestor(["hello:args=alpha beta",
                      "hello_mb:kind=mb1,name=mb1,mod=%s,args=one=1 two" % env,
                      "hello_mb:kind=mb2,name=mb2,mem=8M,mod=%s,args=x y" % env])
    return run


def test_all_domains_ok(boot):
    assert boot.status == 0, boot
    for name in ("hello", "mb1", "mb2"):
        guest_passed(boot, name)


def test_elf64_start_info(boot):
    out = boot.domain_output("hello")
    assert "Hello from hello, booted by ELF64 (Nestor start info), 32 MiB of RAM, " \
           "command line 'alpha beta'" in out, boot


@pytest.mark.parametrize("name,proto,mib,cmdline", [
    ("mb1", "multiboot v1", 32, "one=1 two"),
    ("mb2", "multiboot v2", 8, "x y"),
])
def test_multiboot(boot, name, proto, mib, cmdline):
    out = boot.domain_output(name)
    assert any("booted by %s, %d MiB of RAM, command line '%s'" % (proto, mib, cmdline) in l
               for l in out), boot
    assert any("module 0 'env.txt': 16 bytes, starts with 'KEY=VAL" in l for l in out), boot


def test_stats_report(boot):
    dom = boot.domain("hello")
    vcpu = dom["vcpus"][0]
    assert vcpu["exits"]["CPUID"]["count"] == 1, dom
    assert vcpu["exits"]["IO_INSTRUCTION"]["count"] > 50, dom   # console bytes
    assert vcpu["total_exits"] == sum(e["count"] for e in vcpu["exits"].values())
    assert vcpu["total_cycles"] == sum(e["cycles"] for e in vcpu["exits"].values())
    assert dom["mem_mib"] == 32
    assert boot.domain("mb2")["mem_mib"] == 8


def test_poweroff_summary(boot):
    assert "poweroff: status=0 (3 domain(s), 3 ok, 0 failed, 0 module(s) rejected)" in boot.hv_output(), boot

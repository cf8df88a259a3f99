#!/usr/bin/env python3
"""Nested benchmark: what an L2 exit costs (docs/NESTED.md, "Exit
amplification").  For each L2 exit kind (CPUID, VMCALL, I/O port write,
RDMSR handled by L1; an EPT02 fill handled by L0), with and without VMCS
shadowing:

  l2_roundtrip_cycles    L2's own view: RDTSC around a loop of the
                         instruction, per instruction (the vmx_l2 test
                         hypervisor's bench mode; L1's handler does the
                         minimum: VMREAD reason and length, VMWRITE RIP,
                         VMRESUME)
  l1_roundtrip_cycles    the same exit in a single-level guest: the
                         instruction run by L1 itself (for the EPT02 fill:
                         a single-level EPT violation L0 resolves, the
                         log-dirty write-protection fault of bench/pml.py)
  ratio                  l2 / l1
  l0_exits_per_l2_exit   L0 exits per L2 exit, from L0's statistics: two
                         runs with n and 2n iterations, the difference
                         divided by n (setup exits cancel out; the
                         emulation is deterministic)

Writes bench/results/nested.json: a list of rows, one per (exit,
vmcs_shadowing).
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
N = 400
# bench kind -> (row name, L0 statistics reason of the L2 exit)
KINDS = {"cpuid": ("cpuid", "CPUID"), "vmcall": ("vmcall", "VMCALL"),
         "out": ("io", "IO_INSTRUCTION"), "rdmsr": ("rdmsr", "RDMSR"),
         "fill": ("ept02_fill", "EPT_VIOLATION")}
TARGET_EXITS = 2.0
TARGET_CPUID_RATIO = 4.0


def run(shadowing, n):
    """One run of every kind; returns ({kind: BENCH values}, L0 per-reason rows)."""
    cmd = [sys.executable, os.path.join(ROOT, "nestor"), "run", "--timeout", "900",
           "--guest", "vmx_l2:nested=1,vmcs_shadowing=%d,args=bench n=%d" % (int(shadowing), n),
           "--hv-arg", "slice=4000000000", "--json", os.path.join(RESULTS, ".nested-run.json")]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit("vmx_l2 bench failed (status %d):\n%s" % (proc.returncode, proc.stdout))
    bench = {}
    for kind, rest in re.findall(r"BENCH (\w+) (.*)", proc.stdout):
        bench[kind] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", rest)}
    with open(os.path.join(RESULTS, ".nested-run.json")) as f:
        report = json.load(f)
    os.unlink(os.path.join(RESULTS, ".nested-run.json"))
    dom = [d for d in report["domains"] if d["name"] == "vmx_l2"][0]
    return bench, dom["vcpus"][0]["nested"]["l2_exits"]


def wp_fault_cycles():
    """A single-level EPT violation resolved by L0: bench/pml.py's
    write-protection log-dirty, extra cycles per first write to a page."""
    path = os.path.join(RESULTS, "pml.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        pml = json.load(f)
    full = [r for r in pml["rounds"] if r["fraction_per_mille"] == 1000][0]
    faults = pml.get("rounds_per_run", 3) * pml["working_set_mib"] * 256   # every page, every round
    return round((full["wp_cycles"] - full["untracked_cycles"]) / faults)


def rows_for(shadowing):
    b1, s1 = run(shadowing, N)
    b2, s2 = run(shadowing, 2 * N)
    rows = []
    for kind, (name, reason) in KINDS.items():
        if kind not in b2:
            sys.exit("the vmx_l2 bench printed no %s line" % kind)
        l0 = (s2[reason]["l0_exits"] - s1[reason]["l0_exits"]) / float(N)
        l2 = b2[kind]["l2_roundtrip"]
        l1 = b2[kind].get("l1_roundtrip") if kind != "fill" else wp_fault_cycles()
        rows.append({
            "exit": name, "vmcs_shadowing": shadowing,
            "l0_exits_per_l2_exit": round(l0, 2),
            "l2_roundtrip_cycles": l2,
            "l1_roundtrip_cycles": l1,
            "ratio": round(l2 / l1, 2) if l1 else None,
        })
    return rows


def main():
    os.makedirs(RESULTS, exist_ok=True)
    rows = rows_for(True) + rows_for(False)
    with open(os.path.join(RESULTS, "nested.json"), "w") as f:
        json.dump(rows, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(rows, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()

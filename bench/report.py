#!/usr/bin/env python3
"""Tables (Markdown, on stdout and in bench/results/REPORT.md) and PNG
plots from bench/results/*.json."""

import json
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def load(name):
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def l0_section(r):
    rows = [
        ("CPUID exit: hv work", r["cpuid_exit_hv_cycles"], "<= %d" % r["target_cpuid_exit_hv_cycles"]),
        ("CPUID exit: guest round trip", r["cpuid_roundtrip_cycles"], ""),
        ("null hypercall: hv work", r["null_hypercall_hv_cycles"], ""),
        ("null hypercall: guest round trip", r["null_hypercall_roundtrip_cycles"], ""),
    ]
    lines = ["## L0 exit costs (emulated TSC cycles, mean of %d)" % r["iterations"], "",
             "| measurement | cycles | target |", "|---|---:|---|"]
    lines += ["| %s | %d | %s |" % row for row in rows]
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = ["CPUID\nhv", "CPUID\nround trip", "hypercall\nhv", "hypercall\nround trip"]
    ax.bar(labels, [row[1] for row in rows], color=["#4c72b0", "#88a", "#dd8452", "#db9"])
    ax.axhline(r["target_cpuid_exit_hv_cycles"], color="red", linestyle="--", linewidth=1,
               label="target: CPUID hv work")
    ax.set_ylabel("emulated TSC cycles")
    ax.set_title("Nestor L0 exit costs (Bochs tigerlake)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "l0.png"), dpi=100)
    plt.close(fig)
    return lines + ["", "![L0 exit costs](l0.png)", ""]


def pml_section(r):
    lines = ["## Dirty tracking on a %d MiB working set (writer's emulated cycles)" % r["working_set_mib"], "",
             "| pages written per round | untracked | PML | overhead | write protection | overhead |",
             "|---:|---:|---:|---:|---:|---:|"]
    for row in r["rounds"]:
        lines.append("| %.1f%% | %d | %d | %.2f%% | %d | %.2f%% |" % (
            row["fraction_per_mille"] / 10.0, row["untracked_cycles"], row["pml_cycles"],
            row["pml_overhead_pct"], row["wp_cycles"], row["wp_overhead_pct"]))
    lines += ["", "Target: PML overhead at most %d%% (heaviest fraction: %.2f%%)." % (
        r["target_pml_overhead_pct"], r["pml_overhead_pct"]), ""]
    fig, ax = plt.subplots(figsize=(6, 3))
    xs = [row["fraction_per_mille"] / 10.0 for row in r["rounds"]]
    ax.plot(xs, [row["pml_overhead_pct"] for row in r["rounds"]], "o-", label="PML log-dirty")
    ax.plot(xs, [row["wp_overhead_pct"] for row in r["rounds"]], "s-", label="EPT write protection")
    ax.axhline(r["target_pml_overhead_pct"], color="red", linestyle="--", linewidth=1, label="PML target")
    ax.set_xlabel("% of working-set pages rewritten per round")
    ax.set_ylabel("overhead vs untracked (%)")
    ax.set_title("Dirty-tracking cost (Bochs tigerlake)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "pml.png"), dpi=100)
    plt.close(fig)
    return lines + ["![Dirty-tracking cost](pml.png)", ""]


def costs_section(r):
    rows = [
        ("tracking context: enable + disable (hypercall pair)", "track_enable_disable_cycles"),
        ("tracking context: flush that drains nothing", "track_flush_empty_cycles"),
        ("tracking context: per entry drained into a ring", "track_drain_cycles_per_entry"),
        ("SPP: VM exits for a write to a permitted sub-page", "spp_permitted_write_exits"),
        ("SPP: a write to a permitted sub-page (cycles)", "spp_permitted_write_cycles"),
        ("the same write to an unprotected page (cycles)", "unprotected_write_cycles"),
        ("SPP: a stopped write, end to end (#GP delivered)", "spp_stopped_write_cycles"),
        ("SPP: hv work for a stopped write", "spp_stopped_write_hv_cycles"),
        ("a #GP the guest takes with no VM exit, for comparison", "guest_gp_fault_cycles"),
    ]
    present = [(label, r[key]) for label, key in rows if key in r]
    if not present:
        return []
    lines = ["## Guest-kernel primitives (emulated cycles unless noted)", "",
             "| measurement | value |", "|---|---:|"]
    lines += ["| %s | %s |" % (label, value) for label, value in present]
    return lines + [""]


def nested_table(rows):
    """Markdown table of bench/results/nested.json (also used by
    docs/NESTED.md)."""
    lines = ["| L2 exit | VMCS shadowing | L0 exits per L2 exit | L2 round trip | single-level round trip | ratio |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %s | %.2f | %d | %s | %s |" % (
            r["exit"], "yes" if r["vmcs_shadowing"] else "no", r["l0_exits_per_l2_exit"],
            r["l2_roundtrip_cycles"], r["l1_roundtrip_cycles"] if r["l1_roundtrip_cycles"] else "-",
            "%.2f×" % r["ratio"] if r["ratio"] else "-"))
    return lines


def nested_section(rows):
    lines = ["## Nested: what an L2 exit costs (emulated TSC cycles)", ""] + nested_table(rows) + [
        "", "Targets: with VMCS shadowing at most 2.0 L0 exits per L2 exit that L1 handles; "
        "an L2 CPUID round trip at most 4× the single-level one.", ""]
    exits = [r["exit"] for r in rows if r["vmcs_shadowing"]]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    width = 0.38
    xs = range(len(exits))
    for off, shadow, color in ((-width / 2, True, "#4c72b0"), (width / 2, False, "#dd8452")):
        rs = [r for r in rows if r["vmcs_shadowing"] == shadow]
        label = "VMCS shadowing" if shadow else "no shadowing"
        a1.bar([x + off for x in xs], [r["l2_roundtrip_cycles"] for r in rs], width, color=color, label=label)
        a2.bar([x + off for x in xs], [r["l0_exits_per_l2_exit"] for r in rs], width, color=color, label=label)
    single = [r["l1_roundtrip_cycles"] or 0 for r in rows if r["vmcs_shadowing"]]
    a1.plot(list(xs), single, "k_", markersize=18, label="single level")
    for a, title in ((a1, "L2 round trip (cycles)"), (a2, "L0 exits per L2 exit")):
        a.set_xticks(list(xs))
        a.set_xticklabels(exits, fontsize=8)
        a.set_title(title, fontsize=10)
    a2.axhline(2.0, color="red", linestyle="--", linewidth=1, label="target (shadowing)")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    fig.suptitle("Nestor nested exits (Bochs tigerlake)", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(RESULTS, "nested.png"), dpi=100)
    plt.close(fig)
    return lines + ["![Nested exit costs](nested.png)", ""]


def main():
    out = ["# Nestor benchmark results", ""]
    r = load("l0.json")
    if r:
        out += l0_section(r)
    r = load("pml.json")
    if r and "rounds" in r:
        out += pml_section(r)
    if r:
        out += costs_section(r)
    r = load("nested.json")
    if r:
        out += nested_section(r)
    text = "\n".join(out) + "\n"
    with open(os.path.join(RESULTS, "REPORT.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

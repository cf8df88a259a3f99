"""Run reports: the --json document and the exit-statistics table.

A stats object (one `[hv] stats {...}` line) looks like
    {"domid": 1, "name": "hello", "result": "exit(0)", "ok": true,
     "vcpus": [{"vcpu": 0, "total_exits": 12, "total_cycles": 3456,
                "exits": {"CPUID": {"count": 3, "cycles": 900}, ...}}]}
Cycles are TSC cycles the hypervisor spent handling exits of that reason.
"""

import json

from . import UsageError

OTHER = "(other)"   # exits the hypervisor counted in its totals but not per reason


def report(platform, cpu, status, domains, timed_out=False):
    """The --json document."""
    return {"platform": platform, "cpu": cpu, "status": status,
            "timed_out": timed_out, "domains": list(domains)}


def write_report(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def load_report(path):
    """The domains of a --json file (or of a bare list of stats objects)."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise UsageError("cannot read %s: %s" % (path, e))
    domains = doc.get("domains") if isinstance(doc, dict) else doc
    if not isinstance(domains, list):
        raise UsageError("%s: no \"domains\" list in it" % path)
    return domains


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def domain_exits(domain):
    """{reason: [count, cycles]} summed over a domain's vCPUs, plus an
    OTHER entry if the vCPU totals exceed the per-reason sums."""
    sums = {}
    total_count = total_cycles = 0
    for vcpu in domain.get("vcpus") or []:
        for reason, entry in (vcpu.get("exits") or {}).items():
            acc = sums.setdefault(reason, [0, 0])
            acc[0] += _int(entry.get("count"))
            acc[1] += _int(entry.get("cycles"))
        total_count += _int(vcpu.get("total_exits"))
        total_cycles += _int(vcpu.get("total_cycles"))
    missing_count = total_count - sum(c for c, _ in sums.values())
    missing_cycles = total_cycles - sum(y for _, y in sums.values())
    if missing_count > 0 or missing_cycles > 0:
        sums[OTHER] = [max(missing_count, 0), max(missing_cycles, 0)]
    return sums


def merge_exits(per_domain):
    total = {}
    for sums in per_domain:
        for reason, (count, cycles) in sums.items():
            acc = total.setdefault(reason, [0, 0])
            acc[0] += count
            acc[1] += cycles
    return total


def mean(count, cycles):
    return "%.1f" % (cycles / count) if count else "-"


def exit_rows(sums):
    """Rows for one exit table, costliest reason first, then a total row."""
    order = sorted(sums.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
    rows = [[reason, str(c), str(y), mean(c, y)] for reason, (c, y) in order]
    count = sum(c for c, _ in sums.values())
    cycles = sum(y for _, y in sums.values())
    rows.append(["total", str(count), str(cycles), mean(count, cycles)])
    return rows


def domain_heading(domain):
    ok = domain.get("ok")
    verdict = "ok" if ok is True else "FAILED" if ok is False else "?"
    nvcpus = len(domain.get("vcpus") or [])
    return "Domain %s  %s  result=%s  %s  (%d vCPU%s)" % (
        domain.get("domid", "?"), domain.get("name", "?"), domain.get("result", "?"),
        verdict, nvcpus, "" if nvcpus == 1 else "s")


HEADER = ["exit reason", "count", "hv cycles", "cycles/exit"]


def render_table(domains):
    """The whole table as text: one section per domain, then totals.  All
    sections share column widths so the numbers line up down the page."""
    per_domain = [domain_exits(d) for d in domains]
    sections = [(domain_heading(d), exit_rows(s)) for d, s in zip(domains, per_domain)]
    sections.append(("All domains (%d)" % len(domains), exit_rows(merge_exits(per_domain))))
    return _render_sections(HEADER, sections)


def _render_sections(header, sections):
    """Sections of (heading, rows) under one header, sharing column widths."""
    widths = _widths([header] + [r for _, rows in sections for r in rows])
    out = []
    for heading, rows in sections:
        out.append(heading)
        out.append("  " + _format_row(header, widths))
        out.extend("  " + _format_row(r, widths) for r in rows)
        out.append("")
    return "\n".join(out)


def _widths(rows):
    return [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]


def _format_row(row, widths):
    """First column left-aligned (a name), the numbers right-aligned."""
    cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
    return "  ".join(cells).rstrip()


AMP_HEADER = ["L2 exit", "count", "to L1", "L0 exits/L2 exit", "L0 cycles/L2 exit",
              "L1 cycles/L2 exit"]


def amplification_rows(domain):
    """Rows of the exit-amplification table of one L1 domain (the "nested"
    section of its statistics), most frequent L2 exit first."""
    rows = []
    for vcpu in domain.get("vcpus") or []:
        l2 = ((vcpu.get("nested") or {}).get("l2_exits")) or {}
        for reason, r in sorted(l2.items(), key=lambda kv: (-_int(kv[1].get("count")), kv[0])):
            n = _int(r.get("count"))
            rows.append([reason, str(n), str(_int(r.get("reflected"))),
                         "%.2f" % (_int(r.get("l0_exits")) / n) if n else "-",
                         mean(n, _int(r.get("l0_cycles"))), mean(n, _int(r.get("l1_cycles")))])
    return rows


def render_amplification(domains):
    """For every domain that ran L2 guests: what each kind of L2 exit cost
    (docs/NESTED.md, "Exit amplification").  Empty if none did."""
    sections = [(domain_heading(d), amplification_rows(d)) for d in domains]
    sections = [(h, rows) for h, rows in sections if rows]
    if not sections:
        return ""
    return "Exit amplification (L2 exits of nested domains)\n" + _render_sections(AMP_HEADER, sections)

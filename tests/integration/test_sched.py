"""Round-robin scheduling with the VMX-preemption timer: three CPU-bound
domains progress within 10% of each other."""

import re

from checks import guest_passed

WINDOW = 300000000      # emulated TSC cycles: about 150 time slices in all


def test_three_spinners_fair(nestor):
    run = nestor(["sched_spin:name=s%d,args=window=%d" % (i, WINDOW) for i in range(3)])
    assert run.status == 0, run
    counts = []
    for i in range(3):
        guest_passed(run, "s%d" % i)
        m = [re.match(r"iterations=(\d+)", l) for l in run.domain_output("s%d" % i)]
        counts.append(int(next(x for x in m if x).group(1)))
    mean = sum(counts) / 3
    for c in counts:
        assert abs(c - mean) <= 0.10 * mean, (counts, run)
    # Each was preempted many times.
    for i in range(3):
        exits = run.domain("s%d" % i)["vcpus"][0]["exits"]
        assert exits["PREEMPTION_TIMER"]["count"] >= 20, exits

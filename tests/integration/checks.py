"""Assertions shared by the integration tests."""

import re

RESULT_RE = re.compile(r"^RESULT: (\d+) passed, (\d+) failed$")


def guest_passed(run, name):
    """The guest ran its checks, none failed, and it exited with 0."""
    out = run.domain_output(name)
    fails = [l for l in out if l.startswith("FAIL")]
    assert not fails, "%s failed checks:\n%s\n%s" % (name, "\n".join(fails), run)
    results = [RESULT_RE.match(l) for l in out if RESULT_RE.match(l)]
    assert results, "%s printed no RESULT line\n%s" % (name, run)
    passed = int(results[-1].group(1))
    assert passed > 0 and int(results[-1].group(2)) == 0, run
    dom = run.domain(name)
    assert dom["ok"] and dom["result"] == "exit(0)", "%s: %s\n%s" % (name, dom["result"], run)
    return passed


def killed(run, name, *fragments):
    """The domain was killed by the hv with a reason containing fragments."""
    dom = run.domain(name)
    assert not dom["ok"] and dom["result"].startswith("killed: "), "%s: %s\n%s" % (name, dom["result"], run)
    for f in fragments:
        assert f in dom["result"], "%s: %r not in %r\n%s" % (name, f, dom["result"], run)
    return dom["result"]


def hv_line(run, fragment):
    """A hypervisor console line containing fragment."""
    lines = [l for l in run.hv_output() if fragment in l]
    assert lines, "no hv line contains %r\n%s" % (fragment, run)
    return lines[0]

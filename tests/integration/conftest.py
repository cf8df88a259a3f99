"""pytest setup for integration tests: the `nestor` fixture.

Integration tests boot the real hypervisor in an emulator through
`./nestor run`; see nestor_run.py for the result object.  Nothing is
skipped: without build/hv/nestor.elf every test fails with a message saying
to build first, so a missing build can never pass for a green run.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, REPO_ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)

from nestor_run import MissingBuild, check_build, run_nestor  # noqa: E402


@pytest.fixture
def nestor():
    """run_nestor(guests, platform="bochs", cpu="tigerlake", timeout=300,
    extra_args=()) -> NestorRun."""
    try:
        check_build()
    except MissingBuild as e:
        pytest.fail(str(e), pytrace=False)
    return run_nestor

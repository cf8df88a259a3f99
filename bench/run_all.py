#!/usr/bin/env python3
"""`make bench`: rerun every benchmark (each rewrites its
bench/results/*.json), then render the tables and plots."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = ["l0.py", "pml.py", "nested.py"]


def main():
    for b in BENCHMARKS:
        print("== bench/%s" % b, flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, b)], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "report.py")], check=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print the `versions` line that a benchmark run made now by this interpreter would print: the
Python version and the installed version of each library bench.py reports (bench.versions).
The sweep (tools/sweep.py) runs it with the benchmarks' interpreter to know which logs it can keep.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench  # noqa: E402  (bench.py at the repo root: standard library only at import)

if __name__ == "__main__":
    print("versions", *[f"{k}={v}" for k, v in bench.versions(installed=True).items()])

"""Benchmark harness for iii-py: floors, systems under test, load generators and the report.

Run ``python -m bench --help``. Method and targets: ``docs/benchmarks.md``.
"""

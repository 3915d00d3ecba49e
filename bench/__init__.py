"""Benchmarks: each prints medians and a ratio against a baseline measured in the same run.

Run all with ``make bench`` (``python -m bench``), or one with ``python -m bench engine``.
"""

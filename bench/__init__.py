"""Runnable benchmarks (``python -m bench.throughput`` etc.); figures are recorded in BENCHMARKS.md."""

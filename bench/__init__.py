"""Runnable benchmarks (``python -m bench.throughput`` etc.); figures are recorded in docs/benchmarks.md."""

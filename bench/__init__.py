"""Benchmarks: `make bench` prints one table, every figure next to its same-run reference."""

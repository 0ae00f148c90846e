"""Benchmarks (not tests): `make bench`. Each figure is a ratio of two timings taken in one run."""

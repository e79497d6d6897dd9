"""Benchmarks, run by `make bench` (`python -m bench --readme README.md`) or one by one
(`python -m bench.bench_<name>`); never by the test suite."""

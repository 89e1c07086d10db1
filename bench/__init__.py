"""Portico benchmarks: mock upstream, load generator, scenarios, soak and stack choice.
Run with `python -m bench run|soak|stack`; results go to docs/benchmarks.md."""

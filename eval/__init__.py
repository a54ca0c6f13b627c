"""Measuring ombuds: the evaluation set, retrieval metrics, the naive baseline, benchmarks."""

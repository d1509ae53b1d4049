"""Benchmarks and chaos runs. Figures are ratios measured in the same run (shared, noisy machines)."""

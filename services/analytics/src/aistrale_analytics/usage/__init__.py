"""Usage queries: sums from the exact rollups, latency percentiles from the raw events."""

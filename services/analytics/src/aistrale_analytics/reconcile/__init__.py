"""Reconciliation: analytics spend per org/key and period against the router's counters."""

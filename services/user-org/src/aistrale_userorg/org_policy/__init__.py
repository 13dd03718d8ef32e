"""Per-org data policies: request-body logging (opt-in) and data residency (regions)."""

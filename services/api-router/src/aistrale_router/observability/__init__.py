"""The router's observability beyond the request counters: token and cost counters,
deployment and breaker gauges, and GenAI client spans (docs/observability.md)."""

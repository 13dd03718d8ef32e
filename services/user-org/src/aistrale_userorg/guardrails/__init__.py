"""guardrails: an org's PII guardrail settings."""

"""Governance on the hot path: prompt templates applied to a request's messages, and PII
guardrails on its text (docs/router.md, "Prompt templates and guardrails")."""

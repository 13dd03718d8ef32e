"""Prompt templates and guardrails: the shapes user-org stores and the router applies."""

"""Pytest fixtures shared by every service's tests (registered in the root conftest)."""

"""user-org tests (a package, so that module names stay unique across services)."""

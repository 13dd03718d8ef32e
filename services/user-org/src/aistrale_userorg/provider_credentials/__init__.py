"""provider credentials (bring your own key)."""

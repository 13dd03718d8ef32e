"""Authorization asked of user-org (the one policy), cached until a control event says the
user or org changed (docs/decisions/authz-one-source.md)."""

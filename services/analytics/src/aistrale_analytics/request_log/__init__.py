"""The request log: one row per request from the usage events, and the encrypted bodies
of orgs that opted in (docs/usage-pipeline.md "Request log")."""

"""Checks of the client's body made before anything goes upstream: cheap, by hand (no
pydantic model of the body on the hot path), each failure a 400 in OpenAI's shape with
the `param` it is about."""

"""The bench's models.yaml: one priced model whose only deployment is the mock upstream."""

from __future__ import annotations

from pathlib import Path

import yaml

MODEL = "bench"
PRICING = {"input_micro_usd_per_mtok": 150_000, "output_micro_usd_per_mtok": 600_000}


def write_models(path: Path, upstream: str, cache_ttl_s: float | None = None) -> Path:
    """`cache_ttl_s`: the model's exact answer cache on (every request after the first of
    the bench's one body is a hit)."""
    deployment = {"provider": "vllm", "base_url": upstream + "/v1", "model": "bench-upstream"}
    model: dict[str, object] = {"name": MODEL, "deployments": [deployment], "pricing": PRICING}
    if cache_ttl_s is not None:
        model["cache"] = {"ttl_s": cache_ttl_s}
    catalog = {"models": [model]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(catalog))
    return path

"""The bench's models.yaml: one priced model whose only deployment is the mock upstream."""

from __future__ import annotations

from pathlib import Path

import yaml

MODEL = "bench"
PRICING = {"input_micro_usd_per_mtok": 150_000, "output_micro_usd_per_mtok": 600_000}


def write_models(path: Path, upstream: str) -> Path:
    deployment = {"provider": "vllm", "base_url": upstream + "/v1", "model": "bench-upstream"}
    catalog = {"models": [{"name": MODEL, "deployments": [deployment], "pricing": PRICING}]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(catalog))
    return path

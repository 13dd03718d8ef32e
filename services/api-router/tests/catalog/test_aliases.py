"""Model aliases in the catalog: each name means one model, or the catalog is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aistrale_router.catalog.schema import Catalog


def entry(name: str, *aliases: str) -> dict[str, object]:
    deployment = {"provider": "vllm", "base_url": "http://127.0.0.1:1/v1", "model": name}
    return {"name": name, "aliases": list(aliases), "deployments": [deployment]}


def test_a_name_or_an_alias_finds_its_model() -> None:
    catalog = Catalog.model_validate({"models": [entry("llama", "gpt-5", "gpt-4o"), entry("qwen")]})
    found = {name: catalog.get(name) for name in ("llama", "gpt-5", "gpt-4o", "qwen", "nope")}
    assert {k: v.name if v else None for k, v in found.items()} == {
        "llama": "llama",
        "gpt-5": "llama",
        "gpt-4o": "llama",
        "qwen": "qwen",
        "nope": None,
    }


@pytest.mark.parametrize(
    ("models", "name"),
    [
        ([entry("a"), entry("a")], "a"),
        ([entry("a", "b"), entry("b")], "b"),
        ([entry("a", "x"), entry("b", "x")], "x"),
        ([entry("a", "a")], "a"),
        ([entry("a", "x", "x")], "x"),
    ],
)
def test_a_name_given_twice_refuses_the_catalog(models: list[object], name: str) -> None:
    with pytest.raises(ValidationError, match=f"the model name `{name}` is given twice"):
        Catalog.model_validate({"models": models})


def test_an_empty_alias_is_refused() -> None:
    with pytest.raises(ValidationError):
        Catalog.model_validate({"models": [entry("a", "")]})

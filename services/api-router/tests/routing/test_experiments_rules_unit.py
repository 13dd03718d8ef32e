"""Arm assignment, pool rules and their catalog checks, without processes."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from aistrale_router.catalog.schema import Catalog, Experiment, ModelEntry
from aistrale_router.routing.experiments import assign
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.rules import eligible
from aistrale_router.routing.state import DeploymentStates


def _experiment(weights: tuple[int, int], sticky: str = "key") -> Experiment:
    arms = [
        {"name": "a", "model": "m-a", "weight": weights[0]},
        {"name": "b", "model": "m-b", "weight": weights[1]},
    ]
    return Experiment.model_validate({"name": "exp", "arms": arms, "sticky": sticky})


def _deployment(name: str) -> dict[str, Any]:
    return {"provider": "vllm", "base_url": f"http://{name}/v1", "model": name, "name": name}


def test_weights_decide_the_split_and_a_zero_weight_arm_gets_nothing() -> None:
    experiment = _experiment((90, 10))
    arms = Counter(assign(experiment, f"key-{i}", None).arm for i in range(5000))
    assert 4300 < arms["a"] < 4700, arms  # 90 % of 5000 = 4500, sd 21
    off = _experiment((1, 0))
    assert {assign(off, f"key-{i}", None).arm for i in range(500)} == {"a"}


def test_sticky_user_follows_the_user_and_falls_back_to_the_key() -> None:
    experiment = _experiment((50, 50), "user")
    assert len({assign(experiment, f"key-{i}", "ada").arm for i in range(100)}) == 1
    by_key = assign(_experiment((50, 50), "key"), "key-1", None)
    assert assign(experiment, "key-1", None) == by_key  # no `user`: the key decides
    assert assign(experiment, "key-1", 42) == by_key  # not a string: ignored


def test_sticky_none_draws_each_request() -> None:
    experiment = _experiment((50, 50), "none")
    rng = random.Random(3)
    assert {assign(experiment, "key-1", "ada", rng).arm for _ in range(50)} == {"a", "b"}


def test_two_experiments_split_the_same_keys_independently() -> None:
    first = _experiment((50, 50))
    second = first.model_copy(update={"name": "other"})
    same = sum(
        assign(first, f"k{i}", None).arm == assign(second, f"k{i}", None).arm for i in range(400)
    )
    assert 140 < same < 260  # independent: about half agree


def _model(rules: list[dict[str, Any]]) -> ModelEntry:
    deployments = [
        {**_deployment("open")},
        {**_deployment("gold"), "pool": "gold"},
        {**_deployment("silver"), "pool": "silver"},
    ]
    return ModelEntry.model_validate({"name": "m", "deployments": deployments, "rules": rules})


def _names(model: ModelEntry, *tags: str) -> set[str]:
    return {d.id for d in eligible(model, frozenset(tags))}


def test_rules_pin_tagged_keys_and_exclusive_pools_keep_others_out() -> None:
    model = _model(
        [
            {"tags": ["premium", "vip"], "pool": "gold", "exclusive": True},
            {"tags": ["beta"], "pool": "silver"},
        ]
    )
    assert _names(model, "premium") == {"gold"}
    assert _names(model, "vip", "other") == {"gold"}
    assert _names(model, "beta") == {"silver"}
    assert _names(model, "premium", "beta") == {"gold", "silver"}
    assert _names(model) == {"open", "silver"}  # silver is not exclusive
    assert _names(_model([])) == {"open", "gold", "silver"}


def test_the_catalog_refuses_rules_and_experiments_that_cannot_work() -> None:
    with pytest.raises(ValidationError, match="no deployment is in pool"):
        _model([{"tags": ["premium"], "pool": "platinum"}])
    with pytest.raises(ValidationError):
        _model([{"tags": ["Premium"], "pool": "gold"}])  # tags are lower-case
    with pytest.raises(ValidationError):
        _model([{"tags": [], "pool": "gold"}])
    with pytest.raises(ValidationError, match="weight above 0"):
        _experiment((0, 0))
    models = [{"name": "m-a", "deployments": [_deployment("a")]}]
    arms = [{"name": "a", "model": "m-a", "weight": 1}]
    Catalog.model_validate({"models": models, "experiments": [{"name": "e", "arms": arms}]})
    with pytest.raises(ValidationError, match="no model m-b"):
        bad = [{"name": "e", "arms": [*arms, {"name": "b", "model": "m-b", "weight": 1}]}]
        Catalog.model_validate({"models": models, "experiments": bad})
    with pytest.raises(ValidationError, match="has a model's name"):
        Catalog.model_validate({"models": models, "experiments": [{"name": "m-a", "arms": arms}]})
    with pytest.raises(ValidationError, match="arm names must differ"):
        Experiment.model_validate({"name": "e", "arms": [arms[0], arms[0]]})


def test_the_picker_applies_the_rules_then_the_regions_to_fallbacks_too() -> None:
    def deployment(name: str, region: str, pool: str | None = None) -> dict[str, Any]:
        return {**_deployment(name), "region": region, "pool": pool}

    rule = [{"tags": ["premium"], "pool": "gold", "exclusive": True}]
    main = {
        "name": "m",
        "deployments": [deployment("open-eu", "eu"), deployment("gold-us", "us", "gold")],
        "fallbacks": ["f"],
        "rules": rule,
    }
    fallback = {"name": "f", "deployments": [deployment("gold-eu", "eu", "gold")], "rules": rule}
    catalog = Catalog.model_validate({"models": [main, fallback]})
    picker = DeploymentPicker(DeploymentStates(5, 10.0), random.Random(1))
    model = catalog.get("m")
    assert model is not None

    def plan(regions: list[str] | None, *tags: str) -> list[str]:
        return [
            t.deployment.id
            for t in picker.plan(catalog, model, "chat", regions, tags=frozenset(tags))
        ]

    assert plan(None) == ["open-eu"]  # the fallback's only deployment is reserved
    assert plan(None, "premium") == ["gold-us", "gold-eu"]
    assert plan(["eu"], "premium") == ["gold-eu"]
    assert plan(["us"]) == []  # nothing both open and in the US: the gateway refuses

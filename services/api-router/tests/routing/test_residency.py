"""Data residency as a pre-filter: a restricted org's plan holds only deployments in its
regions, fallbacks included, even when those are broken; nothing eligible is an empty plan
(the gateway's 403 `region_not_allowed`, tested end to end in tests/request_log)."""

from __future__ import annotations

import random

from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.residency import REGION_NOT_ALLOWED, not_allowed, servable
from aistrale_router.routing.state import DeploymentStates


def _deployment(name: str, region: str | None) -> Deployment:
    return Deployment(
        provider="vllm", base_url=f"http://{name}/v1", model="m", name=name, region=region
    )


CATALOG = Catalog(
    models=[
        ModelEntry(
            name="chat",
            deployments=[
                _deployment("eu-1", "eu"),
                _deployment("us-1", "us"),
                _deployment("nowhere", None),
            ],
            fallbacks=["backup"],
        ),
        ModelEntry(
            name="backup", deployments=[_deployment("us-9", "us"), _deployment("eu-9", "eu")]
        ),
        ModelEntry(name="us-only", deployments=[_deployment("us-5", "us")]),
    ]
)


def _plan(
    model: str, regions: list[str] | None, states: DeploymentStates | None = None
) -> list[str]:
    picker = DeploymentPicker(states or DeploymentStates(3, 30.0), random.Random(7))
    entry = CATALOG.get(model)
    assert entry is not None
    return [t.deployment.id for t in picker.plan(CATALOG, entry, "chat", regions)]


def test_unrestricted_orgs_keep_every_deployment() -> None:
    assert sorted(_plan("chat", None)) == ["eu-1", "eu-9", "nowhere", "us-1", "us-9"]


def test_a_restricted_org_sees_its_regions_only_fallbacks_included() -> None:
    for _ in range(20):
        assert _plan("chat", ["eu"]) == ["eu-1", "eu-9"]
    assert sorted(_plan("chat", ["eu", "us"])) == ["eu-1", "eu-9", "us-1", "us-9"]


def test_broken_eligible_deployments_are_never_swapped_for_another_region() -> None:
    states = DeploymentStates(1, 30.0)
    for name in ("eu-1", "eu-9"):
        states.set_health(name, False)
    assert _plan("chat", ["eu"], states) == ["eu-1"]  # the "try the first anyway" rule


def test_nothing_eligible_is_an_empty_plan_and_a_403() -> None:
    assert _plan("us-only", ["eu"]) == []
    error = not_allowed("us-only", {"eu"})
    assert (error.status, error.instance_code, error.param) == (403, REGION_NOT_ALLOWED, "model")


def test_models_listed_are_those_some_allowed_region_serves() -> None:
    listed = [m.name for m in CATALOG.models if servable(CATALOG, m, ["eu"])]
    assert listed == ["chat", "backup"]
    assert all(servable(CATALOG, m, None) for m in CATALOG.models)

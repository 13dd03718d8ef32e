"""Data residency: an org restricted to regions is served only by deployments in them.

A pre-filter on the deployments of the model and of each fallback, before the strategy
orders them: the retry loop and the fallbacks only ever see eligible deployments, so no
attempt can leave the allowed regions. A deployment that names no region is not eligible
for a restricted org (where it runs is not known). When nothing is left the request is
refused with 403 `region_not_allowed` before any upstream is called; when eligible
deployments exist but all fail, the client gets the usual 502/503 of a failed upstream,
never an answer from another region (docs/decisions/log-residency-prefilter.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from aistrale_common.errors import PermissionDenied
from aistrale_router.catalog.schema import Catalog, Deployment, ModelEntry

REGION_NOT_ALLOWED = "region_not_allowed"


def eligible(
    deployments: Sequence[Deployment], regions: Collection[str] | None
) -> Sequence[Deployment]:
    """`deployments` itself when the org is not restricted (the common case costs nothing)."""
    if regions is None:
        return deployments
    return [d for d in deployments if d.region is not None and d.region in regions]


def servable(catalog: Catalog, model: ModelEntry, regions: Collection[str] | None) -> bool:
    """Whether some deployment of the model or of a fallback is eligible (`/v1/models`
    lists only those: a restricted org is not shown models it would get a 403 for)."""
    if regions is None:
        return True
    models = [model, *(m for name in model.fallbacks if (m := catalog.get(name)) is not None)]
    return any(eligible(m.deployments, regions) for m in models)


def not_allowed(model: str, regions: Collection[str]) -> PermissionDenied:
    allowed = ", ".join(sorted(regions))
    return PermissionDenied(
        f"The model `{model}` has no deployment in the regions this organization is "
        f"restricted to ({allowed}).",
        param="model",
        code=REGION_NOT_ALLOWED,
    )

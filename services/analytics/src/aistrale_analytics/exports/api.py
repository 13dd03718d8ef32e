"""`/analytics/v1/orgs/{org_id}/exports`: ask for an export, poll it, fetch the file."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from aistrale_analytics.access import authorize
from aistrale_analytics.deps import AuthorizerDep, Caller, ExportsDep, ExportWorkerDep
from aistrale_analytics.exports.schemas import ExportCreate, ExportPublic
from aistrale_common.ids import PathId

router = APIRouter(prefix="/analytics/v1/orgs/{org_id}/exports", tags=["exports"])


@router.post("", status_code=202, response_model=ExportPublic)
async def create_export(
    org_id: PathId,
    spec: ExportCreate,
    claims: Caller,
    authorizer: AuthorizerDep,
    exports: ExportsDep,
    worker: ExportWorkerDep,
) -> ExportPublic:
    """Accepted at once; poll the export until `status` is `succeeded`, then fetch `url`."""
    await authorize(authorizer, claims, org_id, "usage.export")
    export = await exports.request(org_id, spec, claims.sub)
    worker.wake()
    return export


@router.get("/{export_id}", response_model=ExportPublic)
async def get_export(
    org_id: PathId,
    export_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    exports: ExportsDep,
) -> ExportPublic:
    await authorize(authorizer, claims, org_id, "usage.export")
    return await exports.get(org_id, export_id)


@router.get("/{export_id}/download", response_class=FileResponse)
async def download_export(
    org_id: PathId,
    export_id: PathId,
    claims: Caller,
    authorizer: AuthorizerDep,
    exports: ExportsDep,
) -> FileResponse:
    """The file itself, when exports go to a local directory (the embedded default)."""
    await authorize(authorizer, claims, org_id, "usage.export")
    path = await exports.local_file(org_id, export_id)
    return FileResponse(path, media_type="text/csv", filename=f"usage-{export_id}.csv")

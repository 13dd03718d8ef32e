"""Export jobs: accepted at once, run by the worker, finished with a download URL."""

from __future__ import annotations

import csv
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aistrale_analytics.exports.repository import CSV_COLUMNS, ExportRepository
from aistrale_analytics.exports.schemas import ExportCreate, ExportPublic
from aistrale_analytics.exports.storage import ObjectStore
from aistrale_common.errors import NotFound
from aistrale_common.logging import get_logger

log = get_logger(__name__)
DOWNLOAD_PATH = "/analytics/v1/orgs/{org_id}/exports/{export_id}/download"


class ExportTooLarge(Exception):
    pass


class ExportService:
    def __init__(
        self, repository: ExportRepository, store: ObjectStore, url_ttl_s: int, max_rows: int
    ) -> None:
        self._repository = repository
        self._store = store
        self._url_ttl_s = url_ttl_s
        self._max_rows = max_rows

    async def request(self, org_id: str, spec: ExportCreate, requested_by: str) -> ExportPublic:
        job = {
            "id": str(uuid.uuid4()),
            "org_id": org_id,
            "status": "pending",
            "format": spec.format,
            "range_start": _aware(spec.start),
            "range_end": _aware(spec.end),
            "requested_by": requested_by[:128],
            "created_at": datetime.now(UTC),
        }
        await self._repository.create(job)
        return await self.public(
            {**job, "finished_at": None, "rows": None, "object_key": None, "error": None}
        )

    async def get(self, org_id: str, export_id: str) -> ExportPublic:
        return await self.public(await self._job(org_id, export_id))

    async def local_file(self, org_id: str, export_id: str) -> Path:
        job = await self._job(org_id, export_id)
        path = self._store.local_path(job["object_key"]) if job["object_key"] else None
        if path is None or not path.exists():
            raise NotFound("This export has no local file", code="export_not_found")
        return path

    async def _job(self, org_id: str, export_id: str) -> dict[str, Any]:
        job = await self._repository.get(org_id, export_id)
        if job is None:
            raise NotFound(f"Export {export_id} not found", code="export_not_found")
        return job

    async def public(self, job: dict[str, Any]) -> ExportPublic:
        url, ttl = None, None
        if job["status"] == "succeeded" and job["object_key"]:
            url = await self._store.download_url(job["object_key"], self._url_ttl_s)
            ttl = self._url_ttl_s if url else None
            url = url or DOWNLOAD_PATH.format(org_id=job["org_id"], export_id=job["id"])
        return ExportPublic(
            id=job["id"], org_id=job["org_id"], status=job["status"], format=job["format"],
            start=job["range_start"], end=job["range_end"], created_at=job["created_at"],
            finished_at=job["finished_at"], rows=job["rows"], url=url, url_expires_in_s=ttl,
            error=job["error"],
        )  # fmt: skip

    async def run(self, job: dict[str, Any]) -> None:
        """Writes the CSV to a temporary file, then uploads it; marks the job either way."""
        key = f"exports/{job['org_id']}/{job['id']}.csv"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.csv"
            try:
                rows = await self._write_csv(job, path)
                await self._store.put_file(key, path, "text/csv")
            except Exception as exc:  # the job records the failure; the worker carries on
                log.warning("usage_export_failed", export_id=job["id"], exc_info=True)
                await self._repository.finish(job["id"], status="failed", error=str(exc)[:400])
                return
        await self._repository.finish(job["id"], status="succeeded", rows=rows, object_key=key)

    async def _write_csv(self, job: dict[str, Any], path: Path) -> int:
        rows = 0
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            stream = self._repository.stream_events(
                job["org_id"], job["range_start"], job["range_end"]
            )
            async for chunk in stream:
                rows += len(chunk)
                if rows > self._max_rows:
                    raise ExportTooLarge(f"more than {self._max_rows} rows: export a smaller range")
                writer.writerows([_csv_value(v) for v in row] for row in chunk)
        return rows


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _aware(value).isoformat()
    return value


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

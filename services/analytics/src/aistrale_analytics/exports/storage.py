"""Object storage for exports: S3 (boto3, presigned URLs) or a local directory."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any, Protocol

from aistrale_analytics.settings import Settings


class ObjectStore(Protocol):
    async def put_file(self, key: str, source: Path, content_type: str) -> None: ...

    async def download_url(self, key: str, ttl_s: int) -> str | None:
        """A URL the caller can fetch directly, or None: the API serves the file itself."""
        ...

    def local_path(self, key: str) -> Path | None: ...


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        # boto3 is blocking: a worker thread keeps the event loop (and the consumer) free.
        await asyncio.to_thread(
            self._client.upload_file,
            str(source),
            self._bucket,
            key,
            ExtraArgs={"ContentType": content_type},
        )

    async def download_url(self, key: str, ttl_s: int) -> str | None:
        params = {"Bucket": self._bucket, "Key": key}
        url: str = await asyncio.to_thread(
            self._client.generate_presigned_url, "get_object", Params=params, ExpiresIn=ttl_s
        )
        return url

    def local_path(self, key: str) -> Path | None:
        return None


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        target = self._root / key
        await asyncio.to_thread(_move, source, target)

    async def download_url(self, key: str, ttl_s: int) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self._root / key


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, target)


def open_object_store(settings: Settings) -> ObjectStore:
    if settings.exports_s3_bucket is None:
        return LocalObjectStore(settings.exports_directory())
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=settings.exports_s3_endpoint_url,
        region_name=settings.exports_s3_region,
        aws_access_key_id=settings.exports_s3_access_key_id,
        aws_secret_access_key=settings.exports_s3_secret_access_key,
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
    )
    return S3ObjectStore(client, settings.exports_s3_bucket)

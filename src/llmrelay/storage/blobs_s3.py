"""File contents in an S3-compatible bucket (Cloudflare R2, AWS S3, MinIO...), through aiobotocore
(the `s3` extra: storage/files.py imports this module only when `files.s3` is configured).

The client is built from the config alone: explicit credentials, the configured endpoint and region,
no credential chain, no shared config files, no endpoint from the environment, so it never looks up
instance metadata or reaches any host but the endpoint. Path-style URLs (`ENDPOINT/BUCKET/KEY`) work
with every S3-compatible server. Checksums are sent only when an operation requires them: the
newer "when supported" default is not understood by every S3-compatible server.

A content up to `part_bytes` is one PutObject; a larger one a multipart upload of parts of exactly
`part_bytes` (R2 requires equal parts, all but the last), aborted if anything fails. So an upload
holds at most one part in memory.

    >>> blobs = S3Blobs(bucket="files", endpoint_url="https://ACCOUNT.r2.cloudflarestorage.com",
    ...                 access_key_id=KEY_ID, secret_access_key=SECRET, prefix="llmrelay/")
    >>> await blobs.start(); size = await blobs.put("file-0123", chunks); await blobs.close()
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from aiohttp import ClientError as HTTPClientError
from botocore.exceptions import BotoCoreError, ClientError

from llmrelay.storage.blobs import READ_CHUNK, BlobMissing, BlobStoreError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

_FAILURES = (ClientError, BotoCoreError, HTTPClientError)
"""botocore's errors (refusals, an unreachable endpoint) and aiohttp's, as raised mid-transfer."""
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class S3Blobs:
    kind = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        endpoint_url: str | None = None,
        region: str = "auto",
        prefix: str = "",
        part_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.bucket, self.prefix, self.part_bytes = bucket, prefix, part_bytes
        self._endpoint, self._region = endpoint_url, region
        self._credentials = (access_key_id, secret_access_key)
        self._stack = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    async def start(self) -> None:
        """Build the client (no request is made: a wrong endpoint or key shows on the first upload)."""
        session = AioSession()
        for variable in ("config_file", "credentials_file"):
            session.set_config_variable(variable, os.devnull)  # no ~/.aws profile settings
        config = AioConfig(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            ignore_configured_endpoint_urls=True,
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=10,
            read_timeout=60,
        )
        key_id, secret = self._credentials
        creator = session.create_client(
            "s3",
            region_name=self._region,
            endpoint_url=self._endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=config,
        )
        self._client = await self._stack.enter_async_context(creator)

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()

    @property
    def client(self) -> S3Client:
        if self._client is None:
            raise BlobStoreError("the S3 content store is not started")
        return self._client

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None = None) -> int:
        name, size, part = self.prefix + key, 0, bytearray()
        upload: _Multipart | None = None
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        try:
            async for chunk in chunks:
                size += len(chunk)
                part += chunk
                while len(part) >= self.part_bytes:
                    if upload is None:
                        created = await self.client.create_multipart_upload(Bucket=self.bucket, Key=name, **extra)
                        upload = _Multipart(self.client, self.bucket, name, created["UploadId"])
                    await upload.send(bytes(part[: self.part_bytes]))
                    del part[: self.part_bytes]
            if upload is None:
                await self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(part), **extra)
            else:
                if part:
                    await upload.send(bytes(part))
                await upload.complete()
        except BaseException as exc:  # S3's failure, or the chunks' own (size limit, client gone): nothing may stay
            if upload is not None:
                await upload.abort()
            if isinstance(exc, _FAILURES):
                raise _store_error("upload", exc) from None
            raise
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except _FAILURES as exc:
            if _error_code(exc) in _MISSING:
                raise BlobMissing(key) from None
            raise _store_error("download", exc) from None
        return _chunks(response["Body"])

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except _FAILURES as exc:
            raise _store_error("delete", exc) from None


class _Multipart:
    """One multipart upload in progress: its parts' numbers and ETags, in order."""

    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self.client, self.bucket, self.key, self.id = client, bucket, key, upload_id
        self.parts: list[dict[str, Any]] = []

    async def send(self, body: bytes) -> None:
        number = len(self.parts) + 1
        sent = await self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def complete(self) -> None:
        await self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.id,
            MultipartUpload={"Parts": self.parts},  # type: ignore[typeddict-item]
        )

    async def abort(self) -> None:
        """Best effort: a leftover upload is invisible, and buckets can expire them by lifecycle rule."""
        with contextlib.suppress(*_FAILURES):
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.id)


async def _chunks(body: Any) -> AsyncIterator[bytes]:
    try:
        async for chunk in body.iter_chunks(READ_CHUNK):
            yield chunk
    except _FAILURES as exc:
        raise _store_error("download", exc) from None
    finally:
        await body.aclose()


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _store_error(operation: str, exc: BaseException) -> BlobStoreError:
    """What failed, by S3 error code or exception class: never a URL with a signature, never a key."""
    return BlobStoreError(f"S3 {operation} failed: {_error_code(exc) or type(exc).__name__}")

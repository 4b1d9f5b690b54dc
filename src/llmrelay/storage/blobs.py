"""Where uploaded files' contents live, behind one small protocol: a local directory (`LocalBlobs`,
here) or an S3-compatible bucket (`S3Blobs`, storage/blobs_s3.py). The files table says which.

A store takes a content as a stream of chunks and gives it back as one, so no file is ever held
whole in memory; a `put` that fails (or whose chunk source raises, e.g. past the size limit) leaves
nothing behind.

    >>> blobs = LocalBlobs(Path("/var/lib/llmrelay/llmrelay-files"))
    >>> size = await blobs.put("file-0123", chunks)     # chunks: any async iterable of bytes
    >>> async for chunk in await blobs.open("file-0123"): ...
    >>> await blobs.delete("file-0123")                 # idempotent
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

READ_CHUNK = 256 * 1024
"""Bytes per chunk when a content is read back."""
_WRITE_BATCH = 1024 * 1024
"""Received chunks are gathered up to this size before one write in a worker thread."""
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class BlobMissing(Exception):
    """The store has no content under that key."""


class BlobStoreError(Exception):
    """The store failed (disk full, bucket unreachable or refusing); the message names no secret."""


class BlobStore(Protocol):
    kind: str
    """`local` or `s3`: recorded with each file, so a file stored elsewhere is recognised as such."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None = None) -> int:
        """Store the chunks under `key`; return the size. On any exception nothing is left stored."""
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The content as chunks (BlobMissing, raised here and not while iterating, if there is none)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the content; a missing one is not an error."""
        ...


class LocalBlobs:
    """Contents as files in one directory, created on the first upload. A content is written to a
    hidden temporary file and renamed into place once complete, so a reader never sees half of one.
    Disk I/O runs in worker threads, in batches of 1 MiB, so the event loop never waits on the disk."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        if not _SAFE_KEY.fullmatch(key):
            raise ValueError(f"not a valid content key: {key!r}")
        return self.root / key

    async def put(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None = None) -> int:
        path = self._path(key)
        partial = self.root / f".{key}.{uuid.uuid4().hex}.part"
        try:
            handle = await asyncio.to_thread(_create, partial)
        except OSError as exc:
            raise BlobStoreError(f"cannot write to the files directory: {exc.strerror}") from None
        size, kept = 0, False
        try:
            batch = bytearray()
            async for chunk in chunks:
                size += len(chunk)
                batch += chunk
                if len(batch) >= _WRITE_BATCH:
                    await asyncio.to_thread(handle.write, bytes(batch))
                    batch.clear()
            await asyncio.to_thread(_finish, handle, bytes(batch), partial, path)
            kept = True
        except OSError as exc:
            raise BlobStoreError(f"cannot write to the files directory: {exc.strerror}") from None
        finally:
            if not kept:
                handle.close()
                partial.unlink(missing_ok=True)
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        except OSError as exc:
            raise BlobStoreError(f"cannot read from the files directory: {exc.strerror}") from None
        return _read(handle)

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        except OSError as exc:
            raise BlobStoreError(f"cannot delete from the files directory: {exc.strerror}") from None


def _create(partial: Path) -> BinaryIO:
    partial.parent.mkdir(parents=True, exist_ok=True)
    return open(partial, "xb")


def _finish(handle: BinaryIO, rest: bytes, partial: Path, path: Path) -> None:
    with handle:
        handle.write(rest)
        handle.flush()
        os.fsync(handle.fileno())  # the row that points here is committed next: the content must be on disk
    os.replace(partial, path)


async def _read(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
            yield chunk
    finally:
        handle.close()

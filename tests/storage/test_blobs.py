"""The content stores behind uploaded files: one suite over the local directory and an S3-compatible
bucket (moto's server on 127.0.0.1), plus what only one of them does (multipart uploads, errors)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tests.fakes.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, s3_server

from llmrelay.storage.blobs import BlobMissing, BlobStore, BlobStoreError, LocalBlobs
from llmrelay.storage.blobs_s3 import S3Blobs

MIB = 1024 * 1024
BINARY = bytes(range(256)) * 64 + b"\r\n--boundary--\r\n\x00\xff"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def s3_blobs(s3: S3Server, bucket: str) -> S3Blobs:
    return S3Blobs(
        bucket=bucket, endpoint_url=s3.endpoint_url, region=REGION, access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY, prefix="p/", part_bytes=5 * MIB,
    )  # fmt: skip


@pytest.fixture(params=["local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    store: BlobStore
    if request.param == "local":
        store = LocalBlobs(tmp_path / "files")
    else:
        s3: S3Server = request.getfixturevalue("s3")
        store = s3_blobs(s3, s3.new_bucket())
    await store.start()
    try:
        yield store
    finally:
        await store.close()


async def chunks(data: bytes, size: int = 64 * 1024, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        if fail_after is not None and start >= fail_after:
            raise RuntimeError("the client went away")
        yield data[start : start + size]


async def read(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in await store.open(key)])


async def test_put_open_delete_round_trip_keeps_every_byte(blobs: BlobStore) -> None:
    assert await blobs.put("file-a", chunks(BINARY, 1000), "application/octet-stream") == len(BINARY)
    assert await read(blobs, "file-a") == BINARY
    assert await blobs.put("file-empty", chunks(b"")) == 0
    assert await read(blobs, "file-empty") == b""
    await blobs.delete("file-a")
    with pytest.raises(BlobMissing):
        await blobs.open("file-a")
    await blobs.delete("file-a")  # idempotent


async def test_a_failing_source_leaves_nothing(blobs: BlobStore) -> None:
    with pytest.raises(RuntimeError, match="went away"):
        await blobs.put("file-cut", chunks(BINARY * 10, 4096, fail_after=50_000))
    with pytest.raises(BlobMissing):
        await blobs.open("file-cut")


async def test_local_store_writes_atomically_and_cleans_up(tmp_path: Path) -> None:
    root = tmp_path / "not-yet"
    blobs = LocalBlobs(root)
    assert not root.exists()  # created by the first upload, not at start-up
    with pytest.raises(RuntimeError):
        await blobs.put("file-x", chunks(BINARY * 100, 4096, fail_after=3 * MIB // 2))
    assert os.listdir(root) == []  # no partial file left behind
    big = os.urandom(3 * MIB + 17)  # several 1 MiB write batches
    assert await blobs.put("file-x", chunks(big)) == len(big)
    assert os.listdir(root) == ["file-x"] and (root / "file-x").read_bytes() == big
    with pytest.raises(ValueError, match="not a valid content key"):
        await blobs.put("../escape", chunks(b"x"))


async def test_local_store_reports_an_unwritable_directory(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_bytes(b"a file where the directory should be")
    with pytest.raises(BlobStoreError, match="cannot write"):
        await LocalBlobs(tmp_path / "blocked").put("file-a", chunks(b"x"))


async def test_s3_large_content_goes_up_in_equal_parts(s3: S3Server) -> None:
    bucket = s3.new_bucket()
    blobs = s3_blobs(s3, bucket)
    await blobs.start()
    try:
        data = os.urandom(11 * MIB + 5)  # 5 MiB + 5 MiB + the rest: a multipart upload of three parts
        assert await blobs.put("file-big", chunks(data, 256 * 1024), "application/x-ndjson") == len(data)
        head = s3.client.head_object(Bucket=bucket, Key="p/file-big")
        assert head["ContentLength"] == len(data) and head["ContentType"] == "application/x-ndjson"
        assert head["ETag"].strip('"').endswith("-3")  # S3's multipart ETag: "<md5 of md5s>-<parts>"
        assert await read(blobs, "file-big") == data
        with pytest.raises(RuntimeError):
            await blobs.put("file-cut", chunks(data, 256 * 1024, fail_after=7 * MIB))
        assert s3.uploads_in_progress(bucket) == 0  # the interrupted multipart upload was aborted
        assert s3.keys(bucket) == ["p/file-big"]
        await blobs.delete("file-big")
        assert s3.keys(bucket) == []
    finally:
        await blobs.close()


async def test_s3_errors_name_the_failure_not_the_secret(s3: S3Server) -> None:
    blobs = s3_blobs(s3, "no-such-bucket-here")
    await blobs.start()
    try:
        with pytest.raises(BlobStoreError) as raised:
            await blobs.put("file-a", chunks(b"data"))
        assert "NoSuchBucket" in str(raised.value)
        assert SECRET_ACCESS_KEY not in str(raised.value) and ACCESS_KEY_ID not in str(raised.value)
    finally:
        await blobs.close()

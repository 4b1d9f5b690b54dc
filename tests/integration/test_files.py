"""/v1/files through the official openai SDK against a gateway on a real port: upload, list with its
cursor, retrieve, download, delete; ownership by key; the size limit; and the S3 content store
against a local S3-compatible server (moto on 127.0.0.1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from tests.conftest import MASTER_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.s3 import SECRET_ACCESS_KEY, S3Server, s3_server
from tests.fakes.server import Server
from tests.openai_schema import assert_valid

ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}
MAX_BYTES = 64 * 1024
REQUEST_LIMIT = 16 * 1024  # server.max_request_bytes: smaller than the files limit on purpose
MIB = 1024 * 1024
# Every byte value, CR LF pairs and something that looks like a multipart boundary.
BINARY = bytes(range(256)) * 40 + b"\r\n--boundary\r\nContent-Disposition: form-data\r\n\r\n\x00"


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files") / "contents"


@pytest.fixture(scope="module")
def gw(upstream_server: tuple[FakeOpenAI, Server], files_dir: Path) -> Iterator[Server]:
    config = gateway_config(
        upstream_server[1].base_url,
        auth={"master_key": MASTER_KEY},
        server={"max_request_bytes": REQUEST_LIMIT},
        files={"max_bytes": MAX_BYTES, "dir": str(files_dir)},
    )
    with run_gateway(config) as server:
        yield server


def new_key(server: Server, permissions: str = "read-write") -> str:
    response = httpx.post(
        f"{server.base_url}/admin/keys", json={"name": "f", "permissions": permissions}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def without_nulls(file: dict[str, Any]) -> dict[str, Any]:
    """The spec marks `expires_at` and `status_details` optional, not nullable; OpenAI sends them as null."""
    return {k: v for k, v in file.items() if v is not None}


def test_upload_retrieve_download_delete(gw: Server, tmp_path: Path, files_dir: Path) -> None:
    with sdk(gw, new_key(gw)) as client:
        from_bytes = client.files.create(file=BINARY, purpose="assistants")
        assert from_bytes.id.startswith("file-") and from_bytes.object == "file"
        assert from_bytes.bytes == len(BINARY) and from_bytes.purpose == "assistants"
        assert from_bytes.status == "processed" and from_bytes.expires_at is None
        path = tmp_path / "notes.jsonl"
        path.write_bytes(b'{"a": 1}\n{"b": "\xc3\xa9"}\n')
        with path.open("rb") as handle:
            from_file = client.files.create(file=handle, purpose="fine-tune")
        assert from_file.filename == "notes.jsonl" and from_file.bytes == path.stat().st_size
        assert client.files.retrieve(from_bytes.id) == from_bytes
        assert client.files.content(from_bytes.id).content == BINARY
        assert client.files.content(from_file.id).content == path.read_bytes()
        assert sorted(os.listdir(files_dir)) >= sorted([from_bytes.id, from_file.id])

        deleted = client.files.delete(from_bytes.id)
        assert deleted.id == from_bytes.id and deleted.deleted is True and deleted.object == "file"
        assert from_bytes.id not in os.listdir(files_dir)
        with pytest.raises(openai.NotFoundError) as missing:
            client.files.retrieve(from_bytes.id)
        assert missing.value.body["param"] == "id"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError):
            client.files.content(from_bytes.id)
        with pytest.raises(openai.NotFoundError):
            client.files.delete(from_bytes.id)


def test_wire_shapes_and_content_type(gw: Server) -> None:
    key = new_key(gw)
    auth = {"authorization": f"Bearer {key}"}
    created = httpx.post(
        f"{gw.base_url}/v1/files", headers=auth, data={"purpose": "vision"},
        files={"file": ("pixel.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    body = created.json()
    assert_valid(without_nulls(body), "OpenAIFile")
    assert body["status_details"] is None and body["expires_at"] is None and body["filename"] == "pixel.png"
    listed = httpx.get(f"{gw.base_url}/v1/files", headers=auth).json()
    assert_valid({**listed, "data": [without_nulls(f) for f in listed["data"]]}, "ListFilesResponse")
    assert listed["first_id"] == listed["last_id"] == body["id"] and listed["has_more"] is False
    download = httpx.get(f"{gw.base_url}/v1/files/{body['id']}/content", headers=auth)
    assert download.headers["content-type"] == "image/png" and download.content == b"\x89PNG\r\n\x1a\n"
    assert download.headers["content-length"] == "8"
    gone = httpx.delete(f"{gw.base_url}/v1/files/{body['id']}", headers=auth).json()
    assert_valid(gone, "DeleteFileResponse")
    empty = httpx.get(f"{gw.base_url}/v1/files", headers=auth).json()
    assert empty == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


def test_list_filters_orders_and_the_sdk_pages_through_all(gw: Server) -> None:
    with sdk(gw, new_key(gw)) as client:
        made = [client.files.create(file=b"%d" % n, purpose="batch" if n % 3 == 0 else "user_data") for n in range(7)]
        ids = [f.id for f in made]
        newest_first = ids[::-1]
        assert [f.id for f in client.files.list()] == newest_first
        assert [f.id for f in client.files.list(purpose="batch")] == [ids[6], ids[3], ids[0]]
        page = client.files.list(limit=2, order="asc")
        assert [f.id for f in page.data] == ids[:2] and page.has_more is True
        after = client.files.list(limit=2, order="asc", after=ids[1])
        assert [f.id for f in after.data] == ids[2:4]
        # Auto-pagination: the SDK follows `after` = the last id while `has_more` is true.
        assert [f.id for f in client.files.list(limit=2)] == newest_first
        assert [f.id for f in client.files.list(limit=3, order="asc")] == ids
        pages = list(client.files.list(limit=3).iter_pages())
        assert [len(p.data) for p in pages] == [3, 3, 1] and pages[-1].has_more is False
        batch = made[0]
        assert batch.expires_at == batch.created_at + 30 * 24 * 3600  # OpenAI's default for batch files
        for bad in ({"limit": 0}, {"limit": 10_001}, {"order": "sideways"}):
            with pytest.raises(openai.BadRequestError) as refused:
                client.files.list(**bad)
            assert refused.value.body["param"] == next(iter(bad))  # type: ignore[index]


def test_expires_after_is_recorded(gw: Server) -> None:
    with sdk(gw, new_key(gw)) as client:
        made = client.files.create(
            file=b"x", purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
        )
        assert made.expires_at == made.created_at + 3600
        assert client.files.retrieve(made.id).expires_at == made.expires_at
        with pytest.raises(openai.BadRequestError) as refused:
            client.files.create(file=b"x", purpose="user_data", expires_after={"anchor": "created_at", "seconds": 60})
        assert refused.value.body["param"] == "expires_after.seconds"  # type: ignore[index]


def test_another_key_is_told_the_file_does_not_exist(gw: Server) -> None:
    owner, other = new_key(gw), new_key(gw)
    with sdk(gw, owner) as mine, sdk(gw, other) as theirs, sdk(gw, MASTER_KEY) as master:
        made = mine.files.create(file=b"secret", purpose="assistants")
        for attempt in (theirs.files.retrieve, theirs.files.content, theirs.files.delete, master.files.retrieve):
            with pytest.raises(openai.NotFoundError) as hidden:
                attempt(made.id)
            assert hidden.value.status_code == 404 and hidden.value.body == (  # the same as an unknown id
                {
                    "message": f"No such File object: {made.id}",
                    "type": "invalid_request_error",
                    "param": "id",
                    "code": "not_found",
                }
            )
        assert made.id not in {f.id for f in theirs.files.list()}
        assert made.id not in {f.id for f in master.files.list()}
        assert mine.files.content(made.id).content == b"secret"  # the failed delete changed nothing
        shared = master.files.create(file=b"m", purpose="assistants")
        assert master.files.retrieve(shared.id).id == shared.id
        with pytest.raises(openai.NotFoundError):
            mine.files.retrieve(shared.id)


def test_a_read_key_may_read_but_not_write(gw: Server) -> None:
    with sdk(gw, new_key(gw, "read")) as reader:
        assert list(reader.files.list()) == []
        with pytest.raises(openai.PermissionDeniedError) as refused:
            reader.files.create(file=b"x", purpose="assistants")
        assert refused.value.body["type"] == "permission_error"  # type: ignore[index]
        with pytest.raises(openai.PermissionDeniedError):
            reader.files.delete("file-whatever")
        with pytest.raises(openai.NotFoundError):
            reader.files.retrieve("file-whatever")
    with pytest.raises(openai.AuthenticationError), sdk(gw, "sk-wrong") as stranger:
        stranger.files.list()


def test_the_files_limit_applies_to_uploads_and_413_keeps_nothing(gw: Server, files_dir: Path) -> None:
    key = new_key(gw)
    with sdk(gw, key) as client:
        before = set(os.listdir(files_dir))
        # Larger than server.max_request_bytes, within files.max_bytes: accepted.
        big = os.urandom(REQUEST_LIMIT * 3)
        assert client.files.content(client.files.create(file=big, purpose="assistants").id).content == big
        at_limit = client.files.create(file=b"z" * MAX_BYTES, purpose="assistants")
        assert at_limit.bytes == MAX_BYTES
        with pytest.raises(openai.APIStatusError) as too_large:
            client.files.create(file=b"z" * (MAX_BYTES + 1), purpose="assistants")
        assert too_large.value.status_code == 413
        error = too_large.value.response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["code"] == "request_too_large"
        assert str(MAX_BYTES) in error["message"]
        assert len(set(os.listdir(files_dir)) - before) == 2  # nothing of the refused upload, not even a part
    auth = {"authorization": f"Bearer {key}"}
    # A declared length far past the limit is refused before the body is read.
    huge = httpx.post(
        f"{gw.base_url}/v1/files", headers={**auth, "content-type": "multipart/form-data; boundary=x"},
        content=b"--x\r\n" + b"a" * (MAX_BYTES * 40),
    )  # fmt: skip
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"

    # Without Content-Length (chunked), the same limits hold while the body streams in.
    def streamed(size: int) -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\n\r\n'
        for _ in range(size // 1024):
            yield b"s" * 1024
        yield b"\r\n--x--\r\n"

    multipart = {**auth, "content-type": "multipart/form-data; boundary=x"}
    fits = httpx.post(f"{gw.base_url}/v1/files", headers=multipart, content=streamed(MAX_BYTES))
    assert fits.status_code == 200 and fits.json()["bytes"] == MAX_BYTES
    over = httpx.post(f"{gw.base_url}/v1/files", headers=multipart, content=streamed(MAX_BYTES + 1024))
    assert over.status_code == 413
    # Other routes keep the edge's server.max_request_bytes.
    chat = httpx.post(f"{gw.base_url}/v1/chat/completions", headers=auth, content=b"{" + b" " * REQUEST_LIMIT + b"}")
    assert chat.status_code == 413


def test_bad_requests_name_the_parameter(gw: Server, files_dir: Path) -> None:
    key = new_key(gw)
    before = set(os.listdir(files_dir))
    with sdk(gw, key) as client:
        with pytest.raises(openai.BadRequestError) as bad_purpose:
            client.files.create(file=b"x", purpose="nonsense")  # type: ignore[arg-type]
        assert bad_purpose.value.body["param"] == "purpose" and "nonsense" in bad_purpose.value.message  # type: ignore[index]
    url, auth = f"{gw.base_url}/v1/files", {"authorization": f"Bearer {key}"}
    no_file = httpx.post(url, headers=auth, files={"purpose": (None, "assistants")})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    no_purpose = httpx.post(url, headers=auth, files={"file": ("a.txt", b"a")})
    assert no_purpose.status_code == 400 and no_purpose.json()["error"]["param"] == "purpose"
    # The file first and a bad purpose after it: refused, and the stored content is discarded.
    late = httpx.post(url, headers=auth, files=[("file", ("a.txt", b"a")), ("purpose", (None, "nope"))])
    assert late.status_code == 400 and late.json()["error"]["param"] == "purpose"
    not_multipart = httpx.post(url, headers=auth, json={"purpose": "assistants"})
    assert not_multipart.status_code == 400 and "multipart/form-data" in not_multipart.json()["error"]["message"]
    cut = httpx.post(
        url, headers={**auth, "content-type": "multipart/form-data; boundary=x"},
        content=b'--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n--x\r\nContent-Disposi',
    )  # fmt: skip
    assert cut.status_code == 400
    with sdk(gw, key) as client:
        assert list(client.files.list()) == []
    assert set(os.listdir(files_dir)) == before  # refused uploads leave no content behind


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


def test_s3_store_through_the_sdk(upstream_server: tuple[FakeOpenAI, Server], s3: S3Server) -> None:
    bucket = s3.new_bucket()
    config = gateway_config(
        upstream_server[1].base_url,
        files={"max_bytes": 32 * MIB, "s3": s3.files_config(bucket, prefix="relay/", part_bytes=5 * MIB)},
    )
    with run_gateway(config) as gateway, sdk(gateway) as client:
        small = client.files.create(file=("data.json", b'{"k": 1}', "application/json"), purpose="user_data")
        assert s3.keys(bucket) == [f"relay/{small.id}"]
        head = s3.client.head_object(Bucket=bucket, Key=f"relay/{small.id}")
        assert head["ContentType"] == "application/json" and head["ContentLength"] == 8
        large = os.urandom(11 * MIB)  # three 5 MiB parts: a multipart upload
        big = client.files.create(file=large, purpose="batch")
        assert big.bytes == len(large) and s3.exists(bucket, f"relay/{big.id}")
        assert client.files.content(big.id).content == large
        assert client.files.content(small.id).content == b'{"k": 1}'
        assert client.files.delete(big.id).deleted
        assert not s3.exists(bucket, f"relay/{big.id}") and s3.keys(bucket) == [f"relay/{small.id}"]
        assert s3.uploads_in_progress(bucket) == 0


def test_s3_failures_are_503_without_secrets(upstream_server: tuple[FakeOpenAI, Server], s3: S3Server) -> None:
    config = gateway_config(upstream_server[1].base_url, files={"s3": s3.files_config("bucket-that-is-not-there")})
    with run_gateway(config) as gateway, sdk(gateway) as client:
        with pytest.raises(openai.InternalServerError) as failed:
            client.files.create(file=b"x", purpose="assistants")
        assert failed.value.status_code == 503
        body = failed.value.response.text
        assert "NoSuchBucket" in body and SECRET_ACCESS_KEY not in body

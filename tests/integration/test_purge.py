"""POST /admin/purge: files and threads created before the cutoff go, of every key; newer ones stay.

The cutoff is given, never waited for: `1d` (nothing that old exists) then a time a minute ahead
(everything is older than that).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import openai
import pytest
from tests.conftest import MASTER_KEY, gateway_config, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server

ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's note on beta.threads


@pytest.fixture
def gw(upstream_server: tuple[FakeOpenAI, Server], tmp_path: Path) -> Iterator[Server]:
    config = gateway_config(
        upstream_server[1].base_url, auth={"master_key": MASTER_KEY}, files={"dir": str(tmp_path / "files")}
    )
    with run_gateway(config) as server:
        yield server


def new_key(server: Server, permissions: str) -> str:
    response = httpx.post(
        f"{server.base_url}/admin/keys", json={"name": "p", "permissions": permissions}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def purge(server: Server, older_than: object, key: str = MASTER_KEY) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/admin/purge", json={"older_than": older_than}, headers={"authorization": f"Bearer {key}"}
    )


def test_purge_deletes_what_is_older_than_the_cutoff(gw: Server, tmp_path: Path) -> None:
    owner = new_key(gw, "read-write")
    with sdk(gw, owner) as client, sdk(gw, MASTER_KEY) as master:
        file = client.files.create(file=("a.jsonl", b'{"x": 1}\n'), purpose="batch")
        theirs = master.files.create(file=("b.txt", b"b"), purpose="assistants")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])

        kept = purge(gw, "1d")
        assert kept.status_code == 200
        assert kept.json()["files_deleted"] == 0 and kept.json()["threads_deleted"] == 0
        assert client.files.retrieve(file.id).id == file.id

        ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        gone = purge(gw, ahead)
        assert gone.status_code == 200
        assert gone.json() == {
            "object": "purge.result",
            "cutoff": ahead,
            "files_deleted": 2,
            "threads_deleted": 1,
        }
        for missing in (lambda: client.files.retrieve(file.id), lambda: master.files.retrieve(theirs.id)):
            with pytest.raises(openai.NotFoundError):
                missing()
        with pytest.raises(openai.NotFoundError):
            client.beta.threads.retrieve(thread.id)
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []  # the contents went too


def test_purge_needs_an_admin_key_and_a_cutoff(gw: Server) -> None:
    assert purge(gw, "1d", key=new_key(gw, "read-write")).status_code == 403
    assert purge(gw, "1d", key=new_key(gw, "admin")).status_code == 200
    for bad in (None, "", "soon", 30):
        response = purge(gw, bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["param"] == "older_than"

"""Virtual keys end to end: /admin/keys and `llmrelay keys`, seen through the official openai SDK;
revocation across two gateway processes sharing PostgreSQL; cached keys outliving the database."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
import yaml
from tests.conftest import MASTER_KEY, gateway_config, pg_admin, run_gateway, sdk
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import Server
from tests.process import HELLO, clean_env, llmrelay, log_lines, serving

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
BYPASS_KEY = "sk-bypass-test-0123456789"
ADMIN = {"authorization": f"Bearer {MASTER_KEY}"}


@pytest.fixture(scope="module")
def keyed_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('keys') / 'keys.db'}"


@pytest.fixture(scope="module")
def keyed(upstream_server: tuple[FakeOpenAI, Server], keyed_db: str) -> Iterator[Server]:
    """A gateway with a master key, a bypass key and its own SQLite database."""
    config = gateway_config(
        upstream_server[1].base_url,
        auth={"master_key": MASTER_KEY, "bypass_keys": [BYPASS_KEY], "key_cache_ttl": 0.2},
        database=keyed_db,
    )
    with run_gateway(config) as server:
        yield server


def create(server: Server | str, headers: dict[str, str] = ADMIN, **fields: Any) -> dict[str, Any]:
    base = server if isinstance(server, str) else server.base_url
    response = httpx.post(f"{base}/admin/keys", json={"name": "t", **fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def chat(server: Server, key: str, model: str = "fast") -> None:
    with sdk(server, key) as client:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def test_create_answers_201_with_the_secret_once(keyed: Server) -> None:
    created = create(keyed, name="svc", models=["fast"], rpm=10, budget_usd=1.5, metadata={"team": "ml"})
    assert created["key"].startswith("sk-lr-") and created["id"].startswith("key_")
    assert created["budget_usd"] == 1.5 and created["budget_period"] == "total" and created["status"] == "active"
    shown = httpx.get(f"{keyed.base_url}/admin/keys/{created['id']}", headers=ADMIN).json()
    assert "key" not in shown and shown["metadata"] == {"team": "ml"} and shown["key_prefix"] == created["key"][:12]
    listed = httpx.get(f"{keyed.base_url}/admin/keys", headers=ADMIN).json()
    assert created["id"] in {k["id"] for k in listed["data"]}
    assert all("key" not in k and "key_hash" not in k for k in listed["data"])
    chat(keyed, created["key"])


def test_admin_validation_and_not_found_use_the_error_envelope(keyed: Server) -> None:
    bad = httpx.post(f"{keyed.base_url}/admin/keys", json={"name": "x", "permissions": "root"}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "permissions"
    missing = httpx.get(f"{keyed.base_url}/admin/keys/key_nope", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "key_not_found"


def test_admin_needs_master_or_admin_key(keyed: Server) -> None:
    writer = create(keyed, permissions="read-write")["key"]
    admin = create(keyed, permissions="admin")["key"]
    url = f"{keyed.base_url}/admin/keys"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"authorization": "Bearer sk-lr-wrong"}).status_code == 401
    for token in (writer, BYPASS_KEY):
        denied = httpx.get(url, headers={"authorization": f"Bearer {token}"})
        assert denied.status_code == 403 and denied.json()["error"]["type"] == "permission_error"
    made = create(keyed, headers={"authorization": f"Bearer {admin}"}, name="by-admin")
    chat(keyed, admin)  # admin includes inference
    chat(keyed, made["key"])


def test_wrong_revoked_and_expired_keys_are_401_saying_so(keyed: Server) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        chat(keyed, "sk-lr-not-a-real-key")
    assert wrong.value.status_code == 401
    revoked = create(keyed)
    chat(keyed, revoked["key"])
    answer = httpx.post(f"{keyed.base_url}/admin/keys/{revoked['id']}/revoke", headers=ADMIN).json()
    assert answer["status"] == "revoked" and answer["revoked_at"]
    with pytest.raises(openai.AuthenticationError, match="revoked") as caught:
        chat(keyed, revoked["key"])  # this process forgot its cached copy at once
    assert caught.value.code == "api_key_revoked"
    expired = create(keyed, expires_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    with pytest.raises(openai.AuthenticationError, match="expired"):
        chat(keyed, expired["key"])


def test_model_allowlist_and_permissions_are_403(keyed: Server) -> None:
    limited = create(keyed, models=["gpt-4*", "fast"])["key"]
    chat(keyed, limited, "gpt-4o")
    chat(keyed, limited, "fast")
    with pytest.raises(openai.PermissionDeniedError, match="embed") as caught, sdk(keyed, limited) as client:
        client.embeddings.create(model="embed", input="x")
    assert caught.value.code == "model_not_allowed" and caught.value.body["type"] == "permission_error"  # type: ignore[index]

    with sdk(keyed, limited) as client:  # the list shows what the key may use; others do not exist for it
        assert sorted(m.id for m in client.models.list()) == ["fast", "gpt-4o"]
        assert client.models.retrieve("gpt-4o").id == "gpt-4o"
        with pytest.raises(openai.NotFoundError):
            client.models.retrieve("embed")
    with sdk(keyed, MASTER_KEY) as client:
        assert "embed" in {m.id for m in client.models.list()}

    reader = create(keyed, permissions="read")["key"]
    with sdk(keyed, reader) as client:
        assert client.models.list().data  # read may list models
        with pytest.raises(openai.PermissionDeniedError, match="may not run inference"):
            client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])


def test_update_and_rotate(keyed: Server) -> None:
    created = create(keyed, models=["fast"])
    patched = httpx.patch(
        f"{keyed.base_url}/admin/keys/{created['id']}", json={"models": ["embed"], "rpm": None}, headers=ADMIN
    )
    assert patched.status_code == 200 and patched.json()["models"] == ["embed"]
    with pytest.raises(openai.PermissionDeniedError):
        chat(keyed, created["key"], "fast")
    rotated = httpx.post(f"{keyed.base_url}/admin/keys/{created['id']}/rotate", headers=ADMIN).json()
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    with pytest.raises(openai.AuthenticationError):
        chat(keyed, created["key"], "embed")
    with sdk(keyed, rotated["key"]) as client:
        client.embeddings.create(model="embed", input="x")


def test_spent_budget_is_429_insufficient_quota(keyed: Server, keyed_db: str) -> None:
    created = create(keyed, budget_usd=0.5, budget_period="month")
    chat(keyed, created["key"])
    _seed_spend(keyed_db, created["id"], Decimal("0.75"))
    _until(lambda: _status(keyed, created["key"]) == 429)  # the spend is re-read after key_cache_ttl (0.2 s)
    with pytest.raises(openai.RateLimitError, match="budget") as caught:
        chat(keyed, created["key"])
    assert caught.value.code == "insufficient_quota"


def test_bypass_key_authenticates(keyed: Server) -> None:
    chat(keyed, BYPASS_KEY)
    with sdk(keyed, BYPASS_KEY) as client:
        assert client.models.list().data


def test_cli_created_key_works_with_the_sdk(keyed: Server, keyed_db: str, tmp_path: Path) -> None:
    config = tmp_path / "llmrelay.yaml"
    config.write_text(yaml.safe_dump({"database": keyed_db}))
    result = llmrelay(
        "keys", "create", "--name", "from-cli", "--models", "fast,gpt-4*", "--rpm", "100", "--budget", "5",
        "--budget-period", "day", "--permissions", "read-write", "--expires", "2099-01-01T00:00:00Z",
        "--config", str(config), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = orjson.loads(result.stdout)
    assert created["models"] == ["fast", "gpt-4*"] and created["budget_period"] == "day"
    assert created["expires_at"].startswith("2099-01-01T00:00:00")
    chat(keyed, created["key"])
    listed = llmrelay("keys", "list", "--config", str(config), "--json", cwd=tmp_path)
    assert created["id"] in {k["id"] for k in orjson.loads(listed.stdout)["data"]}
    rotated = orjson.loads(llmrelay("keys", "rotate", created["id"], "-c", str(config), "--json", cwd=tmp_path).stdout)
    chat(keyed, rotated["key"])
    revoked = llmrelay("keys", "revoke", created["id"], "--config", str(config), "--json", cwd=tmp_path)
    assert orjson.loads(revoked.stdout)["status"] == "revoked"
    _until(lambda: _status(keyed, rotated["key"]) == 401)
    assert llmrelay("keys", "revoke", "key_nope", "--config", str(config), cwd=tmp_path).returncode == 1
    assert llmrelay("db", "upgrade", "--config", str(config), cwd=tmp_path).returncode == 0


def _seed_spend(url: str, key_id: str, cost: Decimal) -> None:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "INSERT INTO usage_records (created_at, request_id, key_id, cost_usd, latency_ms, status, streamed,"
            " path, tokens_estimated) VALUES (?, 'req_seed', ?, ?, 1.0, 200, 0, '/v1/chat/completions', 0)",
            (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), key_id, str(cost)),
        )


def _status(server: Server | str, key: str) -> int:
    base = server if isinstance(server, str) else server.base_url
    response = httpx.post(
        f"{base}/v1/chat/completions",
        json={"model": "fast", "messages": HELLO},
        headers={"authorization": f"Bearer {key}"},
    )
    return response.status_code


def _until(condition: Any, timeout: float = 10.0) -> float:
    """Poll `condition` until it holds (bounded); return how long it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition never held"
    return time.monotonic() - started


def _process_config(tmp_path: Path, upstream: str, database: str, ttl: float) -> Path:
    config = gateway_config(upstream, auth={"master_key": MASTER_KEY, "key_cache_ttl": ttl}, database=database)
    path = tmp_path / f"gw-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_revocation_reaches_a_second_process_within_the_ttl(
    tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server], postgres_url: str
) -> None:
    ttl = 1.0
    path = _process_config(tmp_path, upstream_server[1].base_url, postgres_url, ttl)
    env = clean_env()
    with (
        serving(["--config", str(path)], tmp_path, env) as (a, _),
        serving(["--config", str(path)], tmp_path, env) as (
            b,
            _,
        ),
    ):
        created = create(a, name="shared")
        assert _status(a, created["key"]) == 200 and _status(b, created["key"]) == 200  # b caches it now
        revoked_at = time.monotonic()
        assert httpx.delete(f"{a}/admin/keys/{created['id']}", headers=ADMIN).status_code == 200
        assert _status(a, created["key"]) == 401  # the revoking process at once
        _until(lambda: _status(b, created["key"]) == 401)
        assert time.monotonic() - revoked_at < ttl + 2.0


def test_cached_keys_keep_working_when_the_database_is_gone(
    tmp_path: Path, upstream_server: tuple[FakeOpenAI, Server], postgres_url: str
) -> None:
    ttl = 0.3
    path = _process_config(tmp_path, upstream_server[1].base_url, postgres_url, ttl)
    with serving(["--config", str(path)], tmp_path, clean_env()) as (base, out):
        known, unseen = create(base, name="known"), create(base, name="unseen")
        assert _status(base, known["key"]) == 200
        health = httpx.get(f"{base}/health").json()
        assert health["storage"] == {"database": "reachable"}
        name = postgres_url.rsplit("/", 1)[1]
        asyncio.run(pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
        gone = time.monotonic()
        _until(lambda: httpx.get(f"{base}/health").json()["storage"]["database"] == "unreachable")
        while time.monotonic() - gone < 3 * ttl:  # past the ttl: every request now tries the database
            assert _status(base, known["key"]) == 200
        unseen_answer = httpx.post(
            f"{base}/v1/chat/completions",
            json={"model": "fast", "messages": HELLO},
            headers={"authorization": f"Bearer {unseen['key']}"},
        )
        assert unseen_answer.status_code == 503 and unseen_answer.json()["error"]["code"] == "storage_unavailable"
        assert _status(base, MASTER_KEY) == 200
        health = httpx.get(f"{base}/health").json()
        assert health["storage"]["database"] == "unreachable" and name not in orjson.dumps(health).decode()
    events = [line for line in log_lines(out) if line.get("event") == "storage_unreachable"]
    assert len(events) == 1 and MASTER_KEY not in out.read_text()

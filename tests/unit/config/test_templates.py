"""Template folders at load time: the shipped example loads; each broken folder names the file and problem."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmrelay.config.load import ConfigError, load, validate
from llmrelay.pipeline.routing import Router
from llmrelay.providers.template import load_template

EXAMPLE = Path(__file__).parents[3] / "examples" / "providers" / "qwen"
ENV = {"QWEN_TOKEN": "tok"}


def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "qwen"
    shutil.copytree(EXAMPLE, copy)
    return copy


def config_file(tmp_path: Path, template_dir: str = "qwen") -> str:
    raw = {"providers": {"qwen": {"type": "template", "dir": template_dir, "api_key": "${QWEN_TOKEN}"}}}
    path = tmp_path / "llmrelay.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def edit_json(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def broken(tmp_path: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(config_file(tmp_path), env={**ENV, **(env or {})}, cwd=tmp_path)
    return caught.value


def test_the_example_loads_with_defaults(tmp_path: Path) -> None:
    folder(tmp_path)
    config = load(config_file(tmp_path), env=ENV, cwd=tmp_path)
    files = config.templates["qwen"]
    assert (files.base_url, files.models) == ("https://chat.qwen.ai", ("qwen3-max", "qwen3-coder-plus"))
    assert files.dir == str(tmp_path / "qwen")
    assert "templates" not in config.model_dump()
    template = load_template(files.spec)
    assert template.history == "fold" and template.params == {"chat_id": "", "enable_thinking": False}


def test_env_points_the_example_elsewhere_and_reaches_the_router(tmp_path: Path) -> None:
    folder(tmp_path)
    env = {**ENV, "QWEN_HOST": "127.0.0.1:9", "QWEN_SCHEME": "http", "QWEN_CHAT_ID": "c-1", "QWEN_BX_V": "9.9"}
    router = Router(load(config_file(tmp_path), env=env, cwd=tmp_path))
    target = router.plan("qwen3-max").first.target
    assert target.base_url == "http://127.0.0.1:9"
    template = load_template(target.options["template"])
    assert template.params["chat_id"] == "c-1" and ("bx-v", "9.9") in template.headers
    assert {m.id for m in router.models()} == {"qwen3-max", "qwen3-coder-plus"}


def test_base_url_overrides_the_template_host(tmp_path: Path) -> None:
    folder(tmp_path)
    raw = {"providers": {"qwen": {"type": "template", "dir": str(tmp_path / "qwen"), "base_url": "http://h:1/"}}}
    router = Router(validate(raw, "test.yaml", env={}))
    assert router.plan("qwen3-max").first.target.base_url == "http://h:1"


def test_templates_key_in_yaml_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate({"templates": {"x": {}}}, "test.yaml", env={})
    assert (caught.value.source, caught.value.key) == ("test.yaml", "templates")
    assert "unknown key" in caught.value.problem


def test_missing_folder_names_the_config_key(tmp_path: Path) -> None:
    error = broken(tmp_path)
    assert (error.source, error.key) == (str(tmp_path / "llmrelay.yaml"), "providers.qwen.dir")
    assert str(tmp_path / "qwen") in error.problem


@pytest.mark.parametrize("name", ["metadata.json", "header.txt", "payload.json"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    (folder(tmp_path) / name).unlink()
    error = broken(tmp_path)
    assert error.source == str(tmp_path / "qwen" / name) and "missing" in error.problem


@pytest.mark.parametrize("name", ["metadata.json", "payload.json"])
def test_invalid_json_names_line_and_column(tmp_path: Path, name: str) -> None:
    (folder(tmp_path) / name).write_text('{\n  "host": "x",,\n}')
    error = broken(tmp_path)
    assert (error.source, error.key) == (str(tmp_path / "qwen" / name), "line 2, column 15")
    assert error.problem.startswith("invalid JSON")


HEADER_CASES = [
    pytest.param("", "", "empty", id="empty"),
    pytest.param("GET\n", "line 1", "not a request line", id="no-request-line"),
    pytest.param("POST https://x/api HTTP/1.1\n", "line 1", "must be a path", id="absolute-target"),
    pytest.param("POST /a HTTP/1.1\nno colon here\n", "line 2", "not a header line", id="bad-header-line"),
    pytest.param("POST /a HTTP/1.1\nA: 1\n folded\n", "line 3", "not a header line", id="folded"),
    pytest.param("POST /a HTTP/1.1\nA: 1\na: 2\n", "line 3", "given twice", id="duplicate"),
    pytest.param("POST /a HTTP/1.1\nA: 1\n\n{}\n", "line 4", "belongs in payload.json", id="body-in-header"),
    pytest.param("POST /a?x={{nope}} HTTP/1.1\n", "line 1", "unknown placeholder {{nope}}", id="unknown-in-target"),
    pytest.param("POST /a HTTP/1.1\nX: {{content}}\n", "line 2", "belongs inside the messages array", id="msg-field"),
    pytest.param("POST /a HTTP/1.1\nX: {{a b}}\n", "line 2", "not a placeholder name", id="bad-name"),
    pytest.param("POST /a HTTP/1.1\nX: ${UNSET_IN_TEST}\n", "line 2", "UNSET_IN_TEST is not set", id="unset-env"),
    pytest.param("POST /a HTTP/1.1\nX: ${MULTILINE}\n", "line 2", "line break", id="env-line-break"),
]


@pytest.mark.parametrize(("text", "where", "problem"), HEADER_CASES)
def test_broken_header(tmp_path: Path, text: str, where: str, problem: str) -> None:
    (folder(tmp_path) / "header.txt").write_text(text)
    error = broken(tmp_path, {"MULTILINE": "a\r\nInjected: yes"})
    assert (error.source, error.key) == (str(tmp_path / "qwen" / "header.txt"), where)
    assert problem in error.problem


def _no_messages(p: dict[str, object]) -> None:
    p["messages"] = []


def _two_arrays(p: dict[str, object]) -> None:
    p["again"] = [{"content": "{{content}}"}]


def _no_content(p: dict[str, object]) -> None:
    p["messages"] = [{"role": "{{role}}"}]


def _unknown(p: dict[str, object]) -> None:
    p["chat_mode"] = "{{mode}}"


def _role_outside(p: dict[str, object]) -> None:
    p["chat_mode"] = "{{role}}"


def _key_placeholder(p: dict[str, object]) -> None:
    p["{{model}}"] = 1


def _unset_env(p: dict[str, object]) -> None:
    p["chat_mode"] = "${UNSET_IN_TEST}"


PAYLOAD_CASES = [
    pytest.param(_no_messages, "", "no place for the messages", id="no-messages-array"),
    pytest.param(_two_arrays, "again", "a second messages array", id="two-arrays"),
    pytest.param(_no_content, "messages", "never uses {{content}}", id="no-content"),
    pytest.param(_unknown, "chat_mode", "unknown placeholder {{mode}}", id="unknown"),
    pytest.param(_role_outside, "chat_mode", "belongs inside the messages array", id="role-outside"),
    pytest.param(_key_placeholder, "{{model}}", "not in keys", id="placeholder-in-key"),
    pytest.param(_unset_env, "chat_mode", "UNSET_IN_TEST is not set", id="unset-env"),
]


@pytest.mark.parametrize(("change", "where", "problem"), PAYLOAD_CASES)
def test_broken_payload(tmp_path: Path, change: Callable[[dict[str, object]], None], where: str, problem: str) -> None:
    edit_json(folder(tmp_path) / "payload.json", change)
    error = broken(tmp_path)
    assert (error.source, error.key) == (str(tmp_path / "qwen" / "payload.json"), where)
    assert problem in error.problem


def test_payload_must_be_an_object(tmp_path: Path) -> None:
    (folder(tmp_path) / "payload.json").write_text("[]")
    error = broken(tmp_path)
    assert error.source.endswith("payload.json") and "must be a JSON object" in error.problem


METADATA_CASES = [
    pytest.param({"host": None}, "host", "required", id="no-host"),
    pytest.param({"host": "https://chat.qwen.ai/"}, "host", "not a host name", id="url-as-host"),
    pytest.param({"scheme": "ftp"}, "scheme", "'http' or 'https'", id="scheme"),
    pytest.param({"hots": "x"}, "hots", "unknown key", id="typo"),
    pytest.param({"models": "qwen3-max"}, "models", "list of model names", id="models"),
    pytest.param({"history": "all"}, "history", "'messages' or 'fold'", id="history"),
    pytest.param({"roles": {"tool": "fn"}}, "roles.tool", "renames system, user or assistant", id="roles"),
    pytest.param({"timestamp_gap_seconds": -1}, "timestamp_gap_seconds", "≥ 0", id="gap"),
    pytest.param({"params": {"model": "x"}}, "params.model", "reserved", id="param-reserved"),
    pytest.param({"params": {"x": [1]}}, "params.x", "a default is", id="param-list"),
    pytest.param({"response": {"txt": "a"}}, "response.txt", "unknown key", id="response-typo"),
    pytest.param({"response": {"text": "a..b"}}, "response.text", "dotted path", id="bad-path"),
    pytest.param({"response": {"finish_values": {"x": "done"}}}, "response.finish_values.x", "finish_reason", id="fin"),
    pytest.param({"response": {"error_statuses": {"x": 200}}}, "response.error_statuses.x", "400 to 599", id="status"),
    pytest.param({"response": {"phases": {"x": "elsewhere"}}}, "response.phases.x", "content, reasoning", id="phase"),
]


@pytest.mark.parametrize(("change", "where", "problem"), METADATA_CASES)
def test_broken_metadata(tmp_path: Path, change: dict[str, object], where: str, problem: str) -> None:
    def apply(data: dict[str, object]) -> None:
        for key, value in change.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    edit_json(folder(tmp_path) / "metadata.json", apply)
    error = broken(tmp_path)
    assert (error.source, error.key) == (str(tmp_path / "qwen" / "metadata.json"), where)
    assert problem in error.problem


def test_param_placeholder_in_header_needs_the_param(tmp_path: Path) -> None:
    edit_json(folder(tmp_path) / "metadata.json", lambda d: d.pop("params"))
    error = broken(tmp_path)
    assert (error.source, error.key) == (str(tmp_path / "qwen" / "header.txt"), "line 1")
    assert "unknown placeholder {{chat_id}}" in error.problem

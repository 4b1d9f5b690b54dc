"""Config loading: file discovery, ${VAR} expansion, .env, auto-detection and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmrelay.config.autodetect import local_model_installed
from llmrelay.config.load import EMBEDDED_DEFAULT, ConfigError, load

GOOD = """
providers:
  up:
    type: openai
    base_url: ${UP_URL:-http://127.0.0.1:9/v1}
    api_key: ${UP_KEY}
    headers: {x-team: ml}
    timeout: 5
models:
  - {name: small, provider: up, model: gpt-4o-mini}
  - {name: big, provider: up, fallbacks: [small]}
"""


def write(tmp_path: Path, text: str, name: str = "llmrelay.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_file_with_env_expansion_and_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD), env={"UP_KEY": "sk-abc"}, cwd=tmp_path)
    up = config.providers["up"]
    assert up.base_url == "http://127.0.0.1:9/v1"
    assert up.api_key is not None and up.api_key.get_secret_value() == "sk-abc"
    assert up.timeout == 5
    assert [m.upstream_model for m in config.models] == ["gpt-4o-mini", "big"]
    assert "sk-abc" not in repr(config)


def test_env_value_wins_over_default(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD), env={"UP_KEY": "k", "UP_URL": "http://h/v1"}, cwd=tmp_path)
    assert config.providers["up"].base_url == "http://h/v1"


def test_dotenv_is_read_and_real_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("UP_KEY=from-dotenv\nUP_URL=http://dotenv/v1\n")
    monkeypatch.setenv("UP_URL", "http://real/v1")
    monkeypatch.delenv("UP_KEY", raising=False)
    config = load(write(tmp_path, GOOD), cwd=tmp_path)
    up = config.providers["up"]
    assert up.api_key is not None and up.api_key.get_secret_value() == "from-dotenv"
    assert up.base_url == "http://real/v1"


def test_llmrelay_yaml_in_cwd_is_picked_up(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    config = load(None, env={"UP_KEY": "k"}, cwd=tmp_path)
    assert config.source.endswith("llmrelay.yaml")
    assert "up" in config.providers


def test_embedded_default_without_keys_serves_the_local_model(tmp_path: Path) -> None:
    config = load(None, env={}, cwd=tmp_path)
    assert config.source == EMBEDDED_DEFAULT
    assert local_model_installed(), "make test installs the llmrelay[local] extra"
    assert set(config.providers) == {"local"}
    assert config.providers["local"].type == "local"
    assert "local/smollm2-135m-instruct" in [m.name for m in config.models]
    assert config.server.host == "127.0.0.1" and config.server.port == 8080


def test_embedded_default_detects_providers_from_env(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "MODEL_LIST_URL": "http://127.0.0.1:1/models"}
    config = load(None, env=env, cwd=tmp_path)
    assert set(config.providers) == {"local", "openai", "anthropic", "catalog"}
    assert config.providers["openai"].type == "openai"
    assert "gpt-*" in config.providers["openai"].match
    assert config.providers["catalog"].url == "http://127.0.0.1:1/models"
    assert any(m.name == "gpt-4o-mini" and m.provider == "openai" for m in config.models)


def test_workers_ai_needs_both_variables(tmp_path: Path) -> None:
    assert "workers_ai" not in load(None, env={"CLOUDFLARE_ACCOUNT_ID": "a"}, cwd=tmp_path).providers
    both = {"CLOUDFLARE_ACCOUNT_ID": "a", "CLOUDFLARE_API_TOKEN": "t"}
    assert load(None, env=both, cwd=tmp_path).providers["workers_ai"].account_id == "a"


def test_log_level_from_env(tmp_path: Path) -> None:
    assert load(None, env={"LOG_LEVEL": "none"}, cwd=tmp_path).log_level == "NONE"
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load(None, env={"LOG_LEVEL": "LOUD"}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("providers:\n  up: {type: openia}\n", "providers.up.type", "unknown provider type 'openia'"),
        (
            "providers:\n  up: {type: openai}\nmodels:\n  - {name: m, provider: nope}\n",
            "models[0].provider",
            "provider 'nope' is not defined",
        ),
        (
            "providers:\n  up:\n    type: openai\n    api_key: ${MISSING_KEY}\n",
            "providers.up.api_key",
            "MISSING_KEY is not set",
        ),
        ("providers:\n  up: {type: openai\n", "line 3, column 1", "invalid YAML"),
        ("providers:\n  up: {type: openai, colour: red}\n", "providers.up.colour", "unknown key"),
        (
            "providers:\n  up: {type: openai}\nmodels:\n  - {name: m, provider: up, fallbacks: [x]}\n",
            "models[0].fallbacks[0]",
            "no model is named 'x'",
        ),
        (
            "providers:\n  up: {type: openai}\nmodels:\n  - {name: m, provider: up, context_window_fallbacks: [x]}\n",
            "models[0].context_window_fallbacks[0]",
            "no model is named 'x'",
        ),
        (
            "providers:\n  up: {type: openai}\nmodels:\n  - {name: m, provider: up}\ndefault_fallbacks: [m, y]\n",
            "default_fallbacks[1]",
            "no model is named 'y'",
        ),
        ("routing_strategy: fastest\n", "routing_strategy", "Input should be"),
        ("- a\n- b\n", "", "top level must be a mapping"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ConfigError) as caught:
        load(path, env={}, cwd=tmp_path)
    assert caught.value.source == path
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load(str(tmp_path / "absent.yaml"), env={}, cwd=tmp_path)


@pytest.mark.parametrize(("kind", "key"), [("workers_ai", "account_id"), ("catalog", "url"), ("template", "dir")])
def test_type_specific_settings_are_required(tmp_path: Path, kind: str, key: str) -> None:
    path = write(tmp_path, f"providers:\n  p: {{type: {kind}}}\n", "typed.yaml")
    with pytest.raises(ConfigError) as caught:
        load(path, env={}, cwd=tmp_path)
    assert caught.value.key == f"providers.p.{key}"
    assert f"required for type {kind}" in caught.value.problem

"""Find, read and validate the config: a file, ./llmrelay.yaml, or the embedded default.

The only module that reads the environment. Strings in the file may use `${VAR}` and
`${VAR:-default}`; a `.env` file in the working directory adds variables (the real environment wins).
Without a file, the embedded default serves the providers whose keys are in the environment.

    >>> config = load("llmrelay.yaml")          # raises ConfigError("llmrelay.yaml: models[0].provider: …")
    >>> config.providers["openai"].type
    'openai'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic import ValidationError

from llmrelay.config.model import Config

EMBEDDED_DEFAULT = "<embedded default>"
_REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "workers_ai": ("account_id",),
    "catalog": ("url",),
    "template": ("dir",),
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


class ConfigError(Exception):
    """A config problem, named by file, key and what is wrong: `FILE: KEY: PROBLEM`."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


def environment(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the values of `./.env` (the real environment wins)."""
    dotenv = Path(cwd or Path.cwd()) / ".env"
    merged = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} if dotenv.is_file() else {}
    merged.update(os.environ)
    return merged


def load(path: str | None = None, *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Load `path`, else `./llmrelay.yaml` if present, else the embedded default."""
    cwd = cwd or Path.cwd()
    env = environment(cwd) if env is None else env
    if path is None and (cwd / "llmrelay.yaml").is_file():
        path = str(cwd / "llmrelay.yaml")
    if path is None:
        from llmrelay.config.autodetect import detected_providers

        raw: dict[str, Any] = _parse(_embedded_text(), EMBEDDED_DEFAULT)
        raw.update(detected_providers(env))
        source = EMBEDDED_DEFAULT
    else:
        source = path
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(path, "", f"cannot read the file ({exc.strerror})") from None
        raw = _parse(text, path)
    expanded = _expand(raw, env, source, "")
    if "LOG_LEVEL" in env:
        expanded["log_level"] = env["LOG_LEVEL"].strip().upper()
    return validate(expanded, source, env=env)


def validate(raw: Mapping[str, Any], source: str, *, env: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed config and its cross-references, and read template folders (`${VAR}` from
    `env`, default the process environment); ConfigError names the first problem."""
    try:
        config = Config.model_validate({**raw, "source": source, "templates": {}})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _dotted(err["loc"])
        if key == "log_level":
            raise ConfigError(source, "LOG_LEVEL", "must be DEBUG, INFO, WARNING, ERROR, CRITICAL or NONE") from None
        raise ConfigError(source, key, _describe(err)) from None
    for name, provider in config.providers.items():
        for key in _REQUIRED_BY_TYPE.get(provider.type, ()):
            if getattr(provider, key) is None:
                raise ConfigError(source, f"providers.{name}.{key}", f"required for type {provider.type}")
    names = {m.name for m in config.models}
    for i, model in enumerate(config.models):
        if model.provider not in config.providers:
            known = ", ".join(sorted(config.providers)) or "none"
            problem = f"provider {model.provider!r} is not defined under providers (defined: {known})"
            raise ConfigError(source, f"models[{i}].provider", problem)
        _check_names(source, f"models[{i}].fallbacks", model.fallbacks, names)
        _check_names(source, f"models[{i}].context_window_fallbacks", model.context_window_fallbacks, names)
    _check_names(source, "default_fallbacks", config.default_fallbacks, names)
    _check_names(source, "context_window_fallbacks", config.context_window_fallbacks, names)
    return _with_templates(config, raw, env)


def _check_names(source: str, key: str, fallbacks: tuple[str, ...], names: set[str]) -> None:
    """Every fallback must name a model entry."""
    for j, fallback in enumerate(fallbacks):
        if fallback not in names:
            raise ConfigError(source, f"{key}[{j}]", f"no model is named {fallback!r}")


def _with_templates(config: Config, raw: Mapping[str, Any], env: Mapping[str, str] | None) -> Config:
    """The config with its template providers' folders read (a relative `dir` is the config file's)."""
    if "templates" in raw:
        raise ConfigError(config.source, "templates", "unknown key (template folders are read from providers' `dir`)")
    # Imported here: config/templates.py imports this module.
    from llmrelay.config.templates import read_templates

    base = Path.cwd() if config.source == EMBEDDED_DEFAULT else Path(config.source).parent
    templates = read_templates(config, os.environ if env is None else env, base)
    return config.model_copy(update={"templates": templates}) if templates else config


def _embedded_text() -> str:
    return resources.files("llmrelay.config").joinpath("default.yaml").read_text(encoding="utf-8")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, where, f"invalid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"the top level must be a mapping, not {type(data).__name__}")
    return data


def _expand(node: Any, env: Mapping[str, str], source: str, key: str) -> Any:
    if isinstance(node, str):
        return _expand_str(node, env, source, key)
    if isinstance(node, dict):
        return {k: _expand(v, env, source, _join(key, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, env, source, f"{key}[{i}]") for i, v in enumerate(node)]
    return node


def _expand_str(value: str, env: Mapping[str, str], source: str, key: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and (env[name] != "" or default is None):
            return env[name]
        if default is not None:
            return default
        raise ConfigError(source, key, f"environment variable {name} is not set and has no default")

    return _VAR.sub(substitute, value)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _dotted(loc: tuple[int | str, ...]) -> str:
    """("models", 2, "provider") -> "models[2].provider"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "literal_error" and err["loc"][-1] == "type":
        expected = err.get("ctx", {}).get("expected", "")
        return f"unknown provider type {err.get('input')!r} (known: {expected})"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    return str(err["msg"])


_HANDOFF_VAR = "LLMRELAY_CONFIG_FILE"


def hand_off(path: str | None) -> None:
    """Tell uvicorn's worker processes which config file the CLI was given ("" = the default search)."""
    os.environ[_HANDOFF_VAR] = path or ""


def handoff_path() -> str | None:
    return os.environ.get(_HANDOFF_VAR) or None

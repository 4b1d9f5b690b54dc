"""Read and check template providers' folders at start-up: metadata.json, header.txt and payload.json.

This is the I/O half of template providers; the language itself (what the files may say) is
providers/template/spec.py. Each file is read, `${VAR}` / `${VAR:-default}` are expanded from the
environment as in llmrelay.yaml (secrets such as cookies stay out of the files), then the whole is
compiled. JSON files are expanded after parsing, string value by string value, so a value cannot
break the JSON; header.txt is expanded line by line, and a value with a line break is refused. Any
problem is a ConfigError naming the file, where in it, and what is wrong:

    /srv/qwen/payload.json: line 4, column 3: invalid JSON: Expecting ',' delimiter

A relative `dir` is resolved against the config file's folder (the working directory for the
embedded default).

    >>> read_templates(config, env, Path("/etc/llmrelay"))["qwen"].base_url
    'https://chat.qwen.ai'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmrelay.config.load import ConfigError, _expand, _expand_str
from llmrelay.config.model import Config, TemplateFiles
from llmrelay.providers.template import TemplateError, canonical, compile_template

FILES = ("metadata.json", "header.txt", "payload.json")


def read_templates(config: Config, env: Mapping[str, str], base: Path) -> dict[str, TemplateFiles]:
    """Every template provider's folder, read and checked, by provider name."""
    return {
        name: read_template(name, provider.dir, env, base, config.source)
        for name, provider in config.providers.items()
        if provider.type == "template" and provider.dir is not None
    }


def read_template(name: str, folder_name: str, env: Mapping[str, str], base: Path, source: str) -> TemplateFiles:
    folder = Path(folder_name)
    if not folder.is_absolute():
        folder = base / folder
    if not folder.is_dir():
        raise ConfigError(source, f"providers.{name}.dir", f"no such folder: {folder}")
    texts = {file: _read(folder / file) for file in FILES}
    metadata = _json(texts["metadata.json"], folder / "metadata.json", env)
    payload = _json(texts["payload.json"], folder / "payload.json", env)
    header = _header(texts["header.txt"], folder / "header.txt", env)
    try:
        template = compile_template(metadata, header, payload)
    except TemplateError as exc:
        raise ConfigError(str(folder / exc.file), exc.where, exc.problem) from None
    return TemplateFiles(
        dir=str(folder),
        base_url=template.base_url,
        models=template.models,
        spec=canonical(metadata, header, payload),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(path), "", "missing: a template folder holds metadata.json, header.txt and payload.json"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the file ({exc.strerror})") from None


def _json(text: str, path: Path, env: Mapping[str, str]) -> Any:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}") from None
    return _expand(parsed, env, str(path), "")


def _header(text: str, path: Path, env: Mapping[str, str]) -> str:
    lines = re.split(r"\r\n|\r|\n", text)
    for i, line in enumerate(lines):
        expanded = _expand_str(line, env, str(path), f"line {i + 1}")
        if "\r" in expanded or "\n" in expanded:
            raise ConfigError(str(path), f"line {i + 1}", "an environment variable put a line break into the line")
        lines[i] = expanded
    return "\n".join(lines)

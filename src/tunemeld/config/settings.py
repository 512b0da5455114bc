"""Settings: one typed model read from init values, environment variables and `.env` files.

Sources, highest precedence first: keyword arguments, `TUNEMELD_*` variables (`__` nests),
the flat names of `.env.example` (`MONGODB_URL`, `RAPIDAPI_KEY`, ...), the same two kinds of
names in `.env`, then legacy names (`X_RAPIDAPI_KEY`, the old `.env.dev` file) with a
deprecation warning. Nothing is read at import time: call `load_settings()`. Longer than 500
lines because every setting group, its defaults and its checks live here, in one place.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from tunemeld.config._url import REDACTED, mask_url, unencoded_userinfo, url_passwords
from tunemeld.exceptions import ConfigError

__all__ = [
    "FLAT_NAMES",
    "LEGACY_NAMES",
    "ApiSettings",
    "CacheSettings",
    "CallCost",
    "DatabaseSettings",
    "Environment",
    "EtlSettings",
    "HealthSettings",
    "LoggingSettings",
    "ProvidersSettings",
    "QuotaBucket",
    "Settings",
    "TunemeldDeprecationWarning",
    "load_settings",
    "mask_url",
]


class TunemeldDeprecationWarning(DeprecationWarning):
    """A legacy setting name or file is in use; `inv config.migrate-env` rewrites it."""


class Environment(str, Enum):
    """The profile: changes defaults and, for production, what is refused."""

    DEVELOPMENT = "development"
    TESTING = "testing"
    PRODUCTION = "production"

    @classmethod
    def parse(cls, text: str, *, flag: str = "--env") -> Environment:
        """A profile named on the command line, or a ConfigError listing the profiles."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(profile.value for profile in cls)
            raise ConfigError(
                f"{flag} {text!r} is not a profile.", hint=f"Use one of: {names}."
            ) from None


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DatabaseSettings(_Group):
    """Where data lives: `sqlite:///path` (embedded default) or a `mongodb://` URL."""

    url: str = Field(
        default="sqlite:///.tunemeld/tunemeld.db",
        description="Store URL: sqlite:///relative/path.db, sqlite:////abs/path.db or mongodb://...",
    )
    name: str = Field(default="tunemeld", description="Database name for MongoDB URLs.")
    timeout_ms: int = Field(default=5000, ge=100, description="Connect / busy timeout in ms.")
    server_selection_timeout_ms: int = Field(
        default=3000,
        ge=100,
        description="MongoDB: how long to look for a usable server before giving up, in ms.",
    )
    socket_timeout_ms: int = Field(
        default=30000, ge=100, description="MongoDB: the longest wait for one reply, in ms."
    )

    @field_validator("url")
    @classmethod
    def _supported_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
            raise ValueError(
                "must start with sqlite:///, mongodb:// or mongodb+srv:// "
                "(e.g. sqlite:///.tunemeld/tunemeld.db)"
            )
        if value.startswith("mongodb") and unencoded_userinfo(value):
            raise ValueError(
                "the user name and password must be percent-encoded: write @ / ? # : % as "
                "%40 %2F %3F %23 %3A %25 (Python: urllib.parse.quote(password, safe=''))"
            )
        return value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Mask the URL's password in repr() and str(), like SecretStr does for keys."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "url" and isinstance(value, str) else value

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded store."""
        return self.url.startswith("sqlite:///")


class CallCost(_Group):
    """What one call of a provider endpoint costs, and the quota bucket it draws on."""

    units: int = Field(default=1, ge=0, description="Quota units one call (each attempt) costs.")
    bucket: str = Field(default="free", description="The bucket the units are drawn from.")


class QuotaBucket(_Group):
    """A quota bucket: at most `limit` units per day (or month); None only counts."""

    limit: int | None = Field(default=None, ge=0, description="Units per period; None: unlimited.")
    period: Literal["day", "month"] = "day"


def _merge_defaults(value: Any, defaults: dict[str, dict[str, Any]], short: str) -> Any:
    """Overlay given entries on the defaults, field by field; `short` names a bare value's field.

    So `TUNEMELD_PROVIDERS__BUCKETS__YOUTUBE_SEARCH__LIMIT=20` (or `{"youtube_search": 20}`)
    changes one limit and keeps every other default.
    """
    if value is None:
        return {k: dict(v) for k, v in defaults.items()}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        return value
    merged: dict[str, Any] = {k: dict(v) for k, v in defaults.items()}
    for raw_name, given in value.items():
        name = str(raw_name).lower()
        if isinstance(given, BaseModel):
            given = given.model_dump()
        if not isinstance(given, dict):
            none = given is None or (
                isinstance(given, str) and given.strip().lower() in ("", "none")
            )
            given = {short: None if none else given}
        merged[name] = {**merged.get(name, {}), **given}
    return merged


class ProvidersSettings(_Group):
    """Credentials, timeouts and retry policy for the streaming and video providers."""

    mode: Literal["auto", "sample", "live"] = Field(
        default="auto",
        description="auto: the sample world unless keys are set; sample: always; live: real APIs.",
    )
    rapidapi_key: SecretStr | None = None
    spotify_client_id: SecretStr | None = None
    spotify_client_secret: SecretStr | None = None
    youtube_api_key: SecretStr | None = None
    sample_seed: int = Field(default=2026, description="Seed of the offline sample world.")
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10, description="Tries per call, first included.")
    backoff_initial: float = Field(default=1.0, ge=0, description="First retry wait in seconds.")
    backoff_max: float = Field(default=30.0, ge=0, description="Longest single retry wait.")
    retry_budget_seconds: float = Field(
        default=120.0, gt=0, description="Longest total time one call may spend retrying."
    )
    max_concurrency: int = Field(default=4, ge=1, description="Parallel calls per provider.")
    base_url: str | None = Field(
        default=None,
        description="Send every provider call to this http(s)://host[:port] instead (e.g. the "
        "`inv sandbox.serve` simulator); path and query stay, the Host header keeps the original.",
    )
    base_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per original host (e.g. www.googleapis.com): a base URL overriding base_url.",
    )
    costs: dict[str, CallCost] = Field(
        default_factory=dict,
        description="`<provider>_<endpoint>` -> {units, bucket}; merged over the defaults.",
    )
    buckets: dict[str, QuotaBucket] = Field(
        default_factory=dict,
        description="Quota bucket -> {limit, period}; merged over the defaults.",
    )

    @field_validator("costs", mode="before")
    @classmethod
    def _merge_costs(cls, value: Any) -> Any:
        # Each endpoint's default cost is in the service registry (services sit above config).
        from tunemeld.services.providers.registry import default_costs

        return _merge_defaults(value, default_costs(), "units")

    @field_validator("buckets", mode="before")
    @classmethod
    def _merge_buckets(cls, value: Any) -> Any:
        from tunemeld.services.providers.registry import default_buckets  # (as for costs)

        return _merge_defaults(value, default_buckets(), "limit")

    @field_validator("base_url")
    @classmethod
    def _origin_only(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be http://host[:port] or https://host[:port]")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError(
                "must be only a scheme, host and port (no path), e.g. http://127.0.0.1:8765"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("base_urls")
    @classmethod
    def _origins_only(cls, value: dict[str, str]) -> dict[str, str]:
        return {
            host.lower(): cls._origin_only(url) or ""
            for host, url in value.items()
            if url and url.strip()
        }

    def cost(self, provider: str, endpoint: str) -> CallCost:
        """The cost of one call of `provider`'s `endpoint` (free and unbucketed when unknown)."""
        found = self.costs.get(f"{provider}_{endpoint}".lower())
        return found if found is not None else CallCost(units=0, bucket="free")

    def bucket(self, name: str) -> QuotaBucket:
        """A bucket's limit and period (unlimited when not configured)."""
        return self.buckets.get(name) or QuotaBucket()

    def origin_for(self, host: str) -> str | None:
        """The scheme://host[:port] to send calls for `host` to, or None for the host itself."""
        return self.base_urls.get(host.lower()) or self.base_url

    def credentials(self) -> dict[str, SecretStr | None]:
        """Every provider credential by its flat name (`RAPIDAPI_KEY`), set or not."""
        return _flat_values(self, "providers")

    def missing_live_keys(self) -> list[str]:
        """Flat names of the credentials live mode needs and does not have."""
        return [name for name, value in self.credentials().items() if not _present(value)]

    def require_live_keys(self) -> None:
        """The one live-key check: ConfigError naming every missing credential, if any."""
        missing = self.missing_live_keys()
        if missing:
            raise ConfigError(
                f"providers.mode is {self.mode} but these keys are missing: {', '.join(missing)}.",
                hint="Set them in the environment or .env, or use TUNEMELD_PROVIDERS__MODE=sample.",
            )

    @property
    def uses_sample(self) -> bool:
        """True when calls go to the offline sample world: `sample`, or `auto` without any key."""
        if self.mode == "auto":
            return len(self.missing_live_keys()) == len(self.credentials())
        return self.mode == "sample"


class CacheSettings(_Group):
    """The API answer cache: in memory, in Cloudflare Workers KV (shared), or none."""

    backend: Literal["memory", "cloudflare", "none"] = "memory"
    ttl_seconds: int = Field(
        default=60, ge=1, description="How long a cached answer lives; bounds staleness."
    )
    max_entries: int = Field(default=512, ge=1, description="Memory backend: most answers kept.")
    key_prefix: str = Field(
        default="tunemeld:",
        max_length=64,
        description="Prepended to every Cloudflare KV key, so one namespace can be shared.",
    )
    cloudflare_account_id: str | None = None
    cloudflare_namespace_id: str | None = None
    cloudflare_api_token: SecretStr | None = None
    cloudflare_base_url: str = Field(
        default="https://api.cloudflare.com/client/v4",
        description="The Cloudflare API root (tests point it at a local stand-in).",
    )
    cloudflare_connect_timeout: float = Field(default=2.0, gt=0)
    cloudflare_read_timeout: float = Field(default=3.0, gt=0)
    cloudflare_max_attempts: int = Field(
        default=2, ge=1, le=5, description="Tries per KV call on 429/5xx, first included."
    )
    cloudflare_cooldown_seconds: float = Field(
        default=30.0,
        ge=0,
        description="After repeated KV failures, skip KV this long and answer from the store.",
    )

    def missing_cloudflare(self) -> list[str]:
        """Flat names of the Cloudflare KV settings the cloudflare backend needs and lacks."""
        wanted = _flat_values(self, "cache")
        return [name for name, value in wanted.items() if not _present(value)]


class EtlSettings(_Group):
    """What the ETL reads and how long it remembers lookups."""

    catalog_path: Path | None = Field(
        default=None, description="A TOML playlist catalog replacing the built-in one."
    )
    raw_snapshots_kept: int = Field(default=7, ge=1, description="Raw snapshots kept per unit.")
    lookup_ttl_days: int = Field(
        default=30, ge=1, description="How long a found ISRC/video id lives."
    )
    negative_lookup_ttl_hours: int = Field(
        default=168,
        ge=1,
        description="How long a lookup that found nothing is remembered before searching again "
        "(a week: daily runs must not spend scarce search quota on the same misses).",
    )
    lease_seconds: float = Field(
        default=120.0,
        ge=1,
        le=86_400,
        description="A run renews its lease on the store every quarter of this; a lease not "
        "renewed for this long is expired and the next run takes it over (at once when its "
        "process on this same host has ended).",
    )


class ApiSettings(_Group):
    """The JSON API server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    debug: bool = False
    # NoDecode: a comma list (the .env.example form) is split by the validator, not read as JSON.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8080"]
    )
    threads: int = Field(default=8, ge=1, le=64)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


class LoggingSettings(_Group):
    """Log level and format: console for people, JSON for machines."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["auto", "console", "json"] = Field(
        default="auto", description="auto: JSON in production or when stderr is not a terminal."
    )
    file: Path | None = Field(
        default=None, description="Also write JSON log lines to this file, rotated by size."
    )
    file_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Rotate the log file at this size."
    )
    file_backups: int = Field(default=5, ge=0, le=100, description="Rotated log files kept.")
    repeat_seconds: float = Field(
        default=60.0,
        ge=0,
        description="A library's repeating log line is written at most once per this many "
        "seconds (per logger and message); 0 never limits.",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class HealthSettings(_Group):
    """What `inv system.health` and `GET /health` call healthy."""

    stale_after_hours: float = Field(
        default=36.0, gt=0, description="A genre's data older than this is stale."
    )
    cache_seconds: float = Field(
        default=5.0, ge=0, description="How long GET /health reuses its last report (0: never)."
    )
    min_free_disk_mb: int = Field(
        default=200, ge=0, description="Less free space than this beside the store fails."
    )


FLAT_NAMES: dict[str, tuple[str, str]] = {
    "MONGODB_URL": ("database", "url"),
    "MONGODB_DATABASE": ("database", "name"),
    "RAPIDAPI_KEY": ("providers", "rapidapi_key"),
    "SPOTIFY_CLIENT_ID": ("providers", "spotify_client_id"),
    "SPOTIFY_CLIENT_SECRET": ("providers", "spotify_client_secret"),
    "YOUTUBE_API_KEY": ("providers", "youtube_api_key"),
    "LOG_LEVEL": ("logging", "level"),
    "LOG_FORMAT": ("logging", "format"),
    "LOG_FILE": ("logging", "file"),
    "CLOUDFLARE_ACCOUNT_ID": ("cache", "cloudflare_account_id"),
    "CLOUDFLARE_NAMESPACE_ID": ("cache", "cloudflare_namespace_id"),
    "CLOUDFLARE_API_TOKEN": ("cache", "cloudflare_api_token"),
}
"""Unprefixed names from `.env.example`, and the setting each one fills."""

LEGACY_NAMES: dict[str, str] = {
    "X_RAPIDAPI_KEY": "RAPIDAPI_KEY",
    "X_RAPIDAPI_KEY_A": "RAPIDAPI_KEY",
    "GOOGLE_API_KEY": "YOUTUBE_API_KEY",
    "MONGO_URI": "MONGODB_URL",
    "MONGO_DB_NAME": "MONGODB_DATABASE",
}
"""Names the old code base used, and the current name each one maps to."""

LEGACY_ENV_FILE = ".env.dev"


def _flat_values(group: BaseModel, name: str) -> dict[str, Any]:
    """The settings of group `name` that `.env.example` names flat, by that name."""
    return {flat: getattr(group, field) for flat, (at, field) in FLAT_NAMES.items() if at == name}


def _present(value: SecretStr | str | None) -> bool:
    if value is None:
        return False
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(raw.strip())


def _set_path(target: dict[str, Any], path: tuple[str, str], value: str) -> None:
    target.setdefault(path[0], {})[path[1]] = value


class _FlatNamesSource(PydanticBaseSettingsSource):
    """The flat names (and, warning, the legacy ones) from the environment or the dotenv files.

    One instance follows each `TUNEMELD_*` source of the same origin, so any environment variable
    beats any file (an exported `MONGODB_URL` beats `TUNEMELD_DATABASE__URL` in `.env`).
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env_files: tuple[Path, ...] = (),
        legacy_file: Path | None = None,
        *,
        environment: bool = False,
    ) -> None:
        super().__init__(settings_cls)
        self.env_files = env_files
        self.legacy_file = legacy_file
        self.environment = environment

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # pragma: no cover - __call__ does the work

    def _layers(self) -> list[tuple[str, dict[str, str]]]:
        """(origin, values) from lowest to highest precedence."""
        if self.environment:
            return [("environment", dict(os.environ))]
        paths = [self.legacy_file, *self.env_files] if self.legacy_file else self.env_files
        return [
            (str(path), {k: v for k, v in dotenv_values(path).items() if v is not None})
            for path in paths
            if path.is_file()
        ]

    def __call__(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        used_legacy_file = False
        for origin, values in self._layers():
            upper = {k.upper(): v for k, v in values.items()}
            for old, new in LEGACY_NAMES.items():
                if old in upper and new not in upper:
                    warnings.warn(
                        f"{old} (in {origin}) is a deprecated name: use {new}. "
                        "Run `inv config.migrate-env` to rewrite your env file.",
                        TunemeldDeprecationWarning,
                        stacklevel=2,
                    )
                    _set_path(result, FLAT_NAMES[new], upper[old])
            for name, path in FLAT_NAMES.items():
                if name in upper:
                    _set_path(result, path, upper[name])
            if self.legacy_file is not None and origin == str(self.legacy_file) and upper:
                used_legacy_file = True
        if used_legacy_file:
            warnings.warn(
                f"Reading settings from the deprecated {self.legacy_file}: "
                "run `inv config.migrate-env` to move them to .env.",
                TunemeldDeprecationWarning,
                stacklevel=2,
            )
        return result


class Settings(BaseSettings):
    """Every TuneMeld setting, grouped; build with `load_settings()` or directly in tests."""

    model_config = SettingsConfigDict(
        env_prefix="TUNEMELD_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    env: Environment = Environment.DEVELOPMENT
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    providers: ProvidersSettings = Field(default_factory=ProvidersSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    etl: EtlSettings = Field(default_factory=EtlSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The dotenv source holds the effective file list, `_env_file=` overrides included.
        env_file = getattr(dotenv_settings, "env_file", settings_cls.model_config.get("env_file"))
        given = [env_file] if isinstance(env_file, (str, Path)) else env_file or ()
        files = tuple(Path(p) for p in given)
        legacy = Path(LEGACY_ENV_FILE) if files else None
        flat_env = _FlatNamesSource(settings_cls, environment=True)
        flat_files = _FlatNamesSource(settings_cls, files, legacy)
        # Highest first: arguments, the environment (prefixed, then flat names), the files.
        return (
            init_settings,
            env_settings,
            flat_env,
            dotenv_settings,
            flat_files,
            file_secret_settings,
        )

    def secret_values(self) -> list[str]:
        """Every configured secret's plain value, for the log redactor; never print these."""
        found: list[str] = []

        def walk(model: BaseModel) -> None:
            for name in type(model).model_fields:
                value = getattr(model, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
                elif isinstance(value, BaseModel):
                    walk(value)

        walk(self)
        found.extend(url_passwords(self.database.url))
        return sorted(set(found), key=len, reverse=True)

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready copy with secrets and URL passwords masked: safe to print or log."""
        data = self.model_dump(mode="json")
        for group in type(self).model_fields:
            model = getattr(self, group)
            if not isinstance(model, BaseModel):
                continue
            for name in type(model).model_fields:
                value = getattr(model, name)
                if isinstance(value, SecretStr):
                    data[group][name] = REDACTED if value.get_secret_value() else None
        data["database"]["url"] = mask_url(self.database.url)
        return data

    def production_problems(self) -> list[str]:
        """What production refuses, one actionable line each; empty when safe."""
        problems: list[str] = []
        if self.api.debug:
            problems.append("TUNEMELD_API__DEBUG is on: set TUNEMELD_API__DEBUG=false.")
        if "*" in self.api.cors_origins:
            problems.append(
                "TUNEMELD_API__CORS_ORIGINS allows every origin (*): list your front end's "
                "origins, e.g. TUNEMELD_API__CORS_ORIGINS=https://tunemeld.com."
            )
        if self.cache.backend == "cloudflare":
            problems.extend(
                f"{name} is not set but TUNEMELD_CACHE__BACKEND is cloudflare: set it, or use "
                "TUNEMELD_CACHE__BACKEND=memory."
                for name in self.cache.missing_cloudflare()
            )
        if self.providers.mode != "sample":
            problems.extend(
                f"{name} is not set: set it in the environment or .env (see .env.example)."
                for name in self.providers.missing_live_keys()
            )
        return problems


def _env_var_for(loc: tuple[int | str, ...]) -> str:
    path = [str(p) for p in loc if not isinstance(p, int)]
    for flat, target in FLAT_NAMES.items():
        if tuple(path[:2]) == target:
            return f"TUNEMELD_{'__'.join(path).upper()} (or {flat})"
    return f"TUNEMELD_{'__'.join(path).upper()}"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = _env_var_for(item["loc"])
        value = item.get("input")
        shown = "" if isinstance(value, (dict, list)) or value is None else f" = {value!r}"
        if isinstance(value, str):
            shown = f" = {mask_url(value)!r}"
        if any(s in name.lower() for s in ("key", "secret", "token", "password")):
            shown = ""
        lines.append(f"  - {name}{shown}: {item['msg']}")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `.env`; raise ConfigError listing every problem.

    In production the unsafe values DESIGN.md §2 names are refused in the same message.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid settings ({exc.error_count()} problem(s)):\n{_describe(exc)}",
            hint="Fix each variable above in the environment or .env; "
            "`.env.example` documents every setting.",
        ) from None
    if settings.env is Environment.PRODUCTION:
        problems = settings.production_problems()
        if problems:
            listed = "\n".join(f"  - {p}" for p in problems)
            raise ConfigError(
                f"Production refuses these settings ({len(problems)} problem(s)):\n{listed}",
                hint="Set each value above, or use TUNEMELD_ENV=development for local work.",
            )
    return settings

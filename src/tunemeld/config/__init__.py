"""Configuration: typed settings, the playlist catalog and legacy env migration."""

from tunemeld.config.catalog import Catalog, CatalogEntry, load_catalog
from tunemeld.config.migrate import migrate_env_file
from tunemeld.config.settings import (
    ApiSettings,
    CacheSettings,
    DatabaseSettings,
    Environment,
    EtlSettings,
    HealthSettings,
    LoggingSettings,
    ProvidersSettings,
    Settings,
    TunemeldDeprecationWarning,
    load_settings,
    mask_url,
)

__all__ = [
    "ApiSettings",
    "CacheSettings",
    "Catalog",
    "CatalogEntry",
    "DatabaseSettings",
    "Environment",
    "EtlSettings",
    "HealthSettings",
    "LoggingSettings",
    "ProvidersSettings",
    "Settings",
    "TunemeldDeprecationWarning",
    "load_catalog",
    "load_settings",
    "mask_url",
    "migrate_env_file",
]

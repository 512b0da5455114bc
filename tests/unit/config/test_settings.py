"""Settings: sources, validation messages, production rules, redaction, legacy names."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tunemeld.config import Settings, TunemeldDeprecationWarning, load_settings, mask_url
from tunemeld.exceptions import ConfigError

SECRETS = {
    "RAPIDAPI_KEY": "rk-9f8e7d6c5b4a",
    "SPOTIFY_CLIENT_SECRET": "sp-secret-31415926",
    "YOUTUBE_API_KEY": "yt-key-27182818",
}


class TestSources:
    """Where values come from and which wins."""

    def test_defaults_when_nothing_is_set_use_sqlite_and_sample_world(self) -> None:
        settings = load_settings(_env_file=None)
        assert settings.database.url == "sqlite:///.tunemeld/tunemeld.db"
        assert settings.providers.uses_sample
        assert settings.env.value == "development"

    def test_prefixed_nested_variable_sets_a_group_field(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_API__PORT", "9100")
        assert load_settings(_env_file=None).api.port == 9100

    def test_flat_name_fills_its_nested_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MONGODB_URL", "mongodb://db.example:27017")
        monkeypatch.setenv("RAPIDAPI_KEY", "k1")
        settings = load_settings(_env_file=None)
        assert settings.database.url == "mongodb://db.example:27017"
        assert settings.providers.rapidapi_key is not None
        assert settings.providers.rapidapi_key.get_secret_value() == "k1"

    def test_prefixed_name_wins_over_flat_name(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LOG_LEVEL", "DEBUG")
        monkeypatch.setenv("TUNEMELD_LOGGING__LEVEL", "error")
        assert load_settings(_env_file=None).logging.level == "ERROR"

    def test_dotenv_file_is_read_and_environment_wins(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        Path(".env").write_text("TUNEMELD_API__PORT=7000\nYOUTUBE_API_KEY=from-file\n")
        monkeypatch.setenv("TUNEMELD_API__PORT", "7001")
        settings = load_settings()
        assert settings.api.port == 7001
        assert settings.providers.youtube_api_key is not None
        assert settings.providers.youtube_api_key.get_secret_value() == "from-file"

    def test_flat_environment_name_wins_over_prefixed_name_in_dotenv(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The devcontainer exports MONGODB_URL; `inv setup` copies .env.example, whose
        # TUNEMELD_DATABASE__URL line must not silently keep the store on SQLite.
        Path(".env").write_text(
            "TUNEMELD_DATABASE__URL=sqlite:///.tunemeld/tunemeld.db\nTUNEMELD_LOGGING__LEVEL=info\n"
        )
        monkeypatch.setenv("MONGODB_URL", "mongodb://mongo:27017/tunemeld?replicaSet=rs0")
        monkeypatch.setenv("LOG_LEVEL", "warning")
        settings = load_settings()
        assert settings.database.url == "mongodb://mongo:27017/tunemeld?replicaSet=rs0"
        assert settings.logging.level == "WARNING"

    def test_prefixed_name_wins_over_flat_name_in_the_same_dotenv(self) -> None:
        Path(".env").write_text("LOG_LEVEL=debug\nTUNEMELD_LOGGING__LEVEL=error\n")
        assert load_settings().logging.level == "ERROR"

    def test_env_file_none_ignores_dotenv(self) -> None:
        Path(".env").write_text("TUNEMELD_API__PORT=7000\n")
        assert load_settings(_env_file=None).api.port == 8000

    def test_any_key_switches_auto_mode_to_live(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("YOUTUBE_API_KEY", "abc")
        assert not load_settings(_env_file=None).providers.uses_sample

    def test_empty_key_counts_as_unset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("RAPIDAPI_KEY", "")
        assert load_settings(_env_file=None).providers.uses_sample

    def test_cors_origins_accept_a_comma_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TUNEMELD_API__CORS_ORIGINS", "https://a.example, https://b.example")
        assert load_settings(_env_file=None).api.cors_origins == [
            "https://a.example",
            "https://b.example",
        ]


class TestLegacyNames:
    """Old names still work, with a deprecation warning."""

    def test_x_rapidapi_key_is_read_with_a_warning(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("X_RAPIDAPI_KEY", "legacy-key")
        with pytest.warns(TunemeldDeprecationWarning, match="X_RAPIDAPI_KEY.*RAPIDAPI_KEY"):
            settings = load_settings(_env_file=None)
        assert settings.providers.rapidapi_key is not None
        assert settings.providers.rapidapi_key.get_secret_value() == "legacy-key"

    def test_new_name_wins_over_legacy_name_without_warning(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("X_RAPIDAPI_KEY", "old")
        monkeypatch.setenv("RAPIDAPI_KEY", "new")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            settings = load_settings(_env_file=None)
        assert settings.providers.rapidapi_key is not None
        assert settings.providers.rapidapi_key.get_secret_value() == "new"

    def test_old_env_dev_file_is_read_with_a_warning(self) -> None:
        Path(".env.dev").write_text("X_RAPIDAPI_KEY=from-env-dev\n")
        with pytest.warns(TunemeldDeprecationWarning, match=r"\.env\.dev"):
            settings = load_settings()
        assert settings.providers.rapidapi_key is not None
        assert settings.providers.rapidapi_key.get_secret_value() == "from-env-dev"

    def test_dotenv_wins_over_env_dev(self) -> None:
        Path(".env.dev").write_text("TUNEMELD_API__PORT=1\nLOG_LEVEL=DEBUG\n")
        Path(".env").write_text("LOG_LEVEL=ERROR\n")
        with pytest.warns(TunemeldDeprecationWarning):
            settings = load_settings()
        assert settings.logging.level == "ERROR"


class TestValidation:
    """Bad values give one actionable message listing every problem."""

    def test_every_bad_field_is_listed_with_its_variable_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_API__PORT", "eighty")
        monkeypatch.setenv("MONGODB_URL", "mysql://db")
        monkeypatch.setenv("LOG_LEVEL", "LOUD")
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None)
        message = str(caught.value)
        assert "3 problem(s)" in message
        assert "TUNEMELD_API__PORT = 'eighty'" in message
        assert "TUNEMELD_DATABASE__URL (or MONGODB_URL) = 'mysql://db'" in message
        assert "sqlite:///" in message  # says what is allowed
        assert "TUNEMELD_LOGGING__LEVEL (or LOG_LEVEL)" in message
        assert caught.value.hint is not None

    def test_bad_secret_value_is_not_echoed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TUNEMELD_PROVIDERS", '{"youtube_api_key": 98765432123}')
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None)
        assert "TUNEMELD_PROVIDERS__YOUTUBE_API_KEY" in str(caught.value)
        assert "98765432123" not in str(caught.value)


class TestProduction:
    """Production refuses unsafe settings and says what to set."""

    def test_production_without_secrets_lists_every_missing_key(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_ENV", "production")
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None)
        message = str(caught.value)
        for name in (
            "RAPIDAPI_KEY",
            "SPOTIFY_CLIENT_ID",
            "SPOTIFY_CLIENT_SECRET",
            "YOUTUBE_API_KEY",
        ):
            assert name in message

    def test_production_refuses_debug_and_wildcard_cors(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_ENV", "production")
        monkeypatch.setenv("TUNEMELD_PROVIDERS__MODE", "sample")
        monkeypatch.setenv("TUNEMELD_API__DEBUG", "true")
        monkeypatch.setenv("TUNEMELD_API__CORS_ORIGINS", "*")
        with pytest.raises(ConfigError) as caught:
            load_settings(_env_file=None)
        assert "2 problem(s)" in str(caught.value)
        assert "DEBUG" in str(caught.value)
        assert "CORS" in str(caught.value)

    def test_production_with_everything_set_is_accepted(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_ENV", "production")
        for name, value in {**SECRETS, "SPOTIFY_CLIENT_ID": "id"}.items():
            monkeypatch.setenv(name, value)
        assert load_settings(_env_file=None).env.value == "production"


class TestRedaction:
    """Secrets never appear in what is printed."""

    def test_redacted_masks_every_secret_and_url_password(self) -> None:
        settings = Settings(
            _env_file=None,
            database={"url": "mongodb://user:hunter2@db.example:27017/x"},
            providers={
                "rapidapi_key": SECRETS["RAPIDAPI_KEY"],
                "spotify_client_secret": SECRETS["SPOTIFY_CLIENT_SECRET"],
                "youtube_api_key": SECRETS["YOUTUBE_API_KEY"],
            },
        )
        text = repr(settings.redacted()) + str(settings) + repr(settings)
        for secret in [*SECRETS.values(), "hunter2"]:
            assert secret not in text
        assert (
            settings.redacted()["database"]["url"] == "mongodb://user:**********@db.example:27017/x"
        )
        assert set(settings.secret_values()) == {*SECRETS.values(), "hunter2"}

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("sqlite:///.tunemeld/x.db", "sqlite:///.tunemeld/x.db"),
            ("mongodb://u:p@h:1/db?tls=true", "mongodb://u:**********@h:1/db?tls=true"),
            (
                "mongodb+srv://u:p@cluster.example/db",
                "mongodb+srv://u:**********@cluster.example/db",
            ),
            ("mongodb://h:1/db", "mongodb://h:1/db"),
        ],
    )
    def test_mask_url_hides_only_the_password(self, url: str, expected: str) -> None:
        assert mask_url(url) == expected

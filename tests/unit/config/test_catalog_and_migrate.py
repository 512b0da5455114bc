"""The playlist catalog (data) and `config.migrate-env`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog import GENRES
from tunemeld.config import load_catalog, migrate_env_file
from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre, Service


class TestCatalog:
    """The built-in catalog holds the real playlists; overrides are checked."""

    def test_built_in_catalog_has_every_service_and_genre(self) -> None:
        catalog = load_catalog()
        assert len(catalog.entries) == len(Service) * len(GENRES)

    @pytest.mark.parametrize(
        ("service", "genre", "playlist_id", "url"),
        [
            (
                Service.SPOTIFY,
                Genre("pop"),
                "37i9dQZF1DXcBWIGoYBM5M",
                "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M",
            ),
            (
                Service.APPLE_MUSIC,
                Genre("rap"),
                "pl.abe8ba42278f4ef490e3a9fc5ec8e8c5",
                "https://music.apple.com/us/playlist/rap-life/pl.abe8ba42278f4ef490e3a9fc5ec8e8c5",
            ),
            (
                Service.SOUNDCLOUD,
                Genre("dance"),
                "soundcloud-the-peak/sets/on-the-up-new-edm-hits",
                "https://soundcloud.com/soundcloud-the-peak/sets/on-the-up-new-edm-hits",
            ),
        ],
    )
    def test_entries_match_the_real_playlists(
        self, service: Service, genre: Genre, playlist_id: str, url: str
    ) -> None:
        entry = load_catalog().entry(service, genre)
        assert (entry.playlist_id, entry.url) == (playlist_id, url)

    def test_incomplete_override_names_what_is_missing(self, tmp_path: Path) -> None:
        path = tmp_path / "catalog.toml"
        path.write_text(
            '[spotify]\npop = { id = "x", url = "https://open.spotify.com/playlist/x" }\n'
        )
        with pytest.raises(ConfigError, match=r"\[apple_music\]"):
            load_catalog(path)

    def test_missing_override_file_says_which_setting_to_fix(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            load_catalog(tmp_path / "nope.toml")
        assert caught.value.hint is not None
        assert "CATALOG_PATH" in caught.value.hint

    def test_invalid_toml_is_a_config_error(self, tmp_path: Path) -> None:
        path = tmp_path / "catalog.toml"
        path.write_text("[spotify\n")
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_catalog(path)


class TestMigrateEnv:
    """Old env files are rewritten without losing anything."""

    def test_legacy_names_are_renamed_and_other_lines_kept(self, tmp_path: Path) -> None:
        source = tmp_path / ".env.dev"
        source.write_text(
            "# keys\nX_RAPIDAPI_KEY=abc\nGOOGLE_API_KEY=yt\nOTHER=1\nexport MONGO_URI=mongodb://h\n"
        )
        result = migrate_env_file(source, tmp_path / ".env")
        assert (tmp_path / ".env").read_text() == (
            "# keys\nRAPIDAPI_KEY=abc\nYOUTUBE_API_KEY=yt\nOTHER=1\nexport MONGODB_URL=mongodb://h\n"
        )
        assert ("X_RAPIDAPI_KEY", "RAPIDAPI_KEY") in result.renamed

    def test_legacy_name_whose_new_name_is_set_is_dropped(self, tmp_path: Path) -> None:
        source = tmp_path / "old.env"
        source.write_text("X_RAPIDAPI_KEY=old\nRAPIDAPI_KEY=new\n")
        result = migrate_env_file(source, tmp_path / ".env")
        text = (tmp_path / ".env").read_text()
        assert "RAPIDAPI_KEY=new" in text
        assert "=old" not in text
        assert result.dropped == ["X_RAPIDAPI_KEY"]

    def test_existing_target_is_kept_unless_overwrite(self, tmp_path: Path) -> None:
        source = tmp_path / ".env.dev"
        source.write_text("X_RAPIDAPI_KEY=abc\n")
        target = tmp_path / ".env"
        target.write_text("PRECIOUS=1\n")
        with pytest.raises(ConfigError, match="already exists"):
            migrate_env_file(source, target)
        assert target.read_text() == "PRECIOUS=1\n"
        result = migrate_env_file(source, target, overwrite=True)
        assert result.backup is not None
        assert result.backup.read_text() == "PRECIOUS=1\n"
        assert target.read_text() == "RAPIDAPI_KEY=abc\n"

    def test_dry_run_writes_nothing(self, tmp_path: Path) -> None:
        source = tmp_path / ".env.dev"
        source.write_text("X_RAPIDAPI_KEY=abc\n")
        result = migrate_env_file(source, tmp_path / ".env", dry_run=True)
        assert result.renamed == [("X_RAPIDAPI_KEY", "RAPIDAPI_KEY")]
        assert not (tmp_path / ".env").exists()

    def test_missing_source_is_a_config_error_with_a_hint(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            migrate_env_file(tmp_path / "missing", tmp_path / ".env")
        assert caught.value.hint is not None

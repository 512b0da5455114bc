"""The playlist catalog (data) and `config.migrate-env`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tests.catalog import GENRES, playlist_line
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


def _built_in_text() -> str:
    return resources.files("tunemeld.config").joinpath("catalog.toml").read_text("utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, "utf-8")
    return path


def _line_number(text: str, needle: str) -> int:
    """The 1-based line of the first line containing `needle` (found by the test, not the code)."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


class TestCatalogChecks:
    """A catalog with a gap, a duplicate or a malformed entry is refused, naming line and fix."""

    def test_genres_come_from_the_catalog_in_its_order(self, tmp_path: Path) -> None:
        text = _built_in_text()
        for section in ("spotify", "apple_music", "soundcloud"):
            text = text.replace(
                f"[{section}]\n", f"[{section}]\n{playlist_line(section, 'latin')}\n"
            )
        catalog = load_catalog(_write(tmp_path, text))
        assert catalog.genres == (Genre("latin"), *GENRES)
        assert catalog.genre("LATIN") is Genre("latin")

    def test_genre_missing_a_service_names_its_table_line_and_the_line_to_add(
        self, tmp_path: Path
    ) -> None:
        text = _built_in_text().replace(
            "[spotify]\n", f"[spotify]\n{playlist_line('spotify', 'latin')}\n"
        )
        with pytest.raises(ConfigError) as caught:
            load_catalog(_write(tmp_path, text))
        message = str(caught.value)
        for section in ("apple_music", "soundcloud"):
            line = _line_number(text, f"[{section}]")
            assert f"line {line}: latin has no playlist under [{section}]" in message
        assert 'add `latin = { id = "...", url = "..." }` there' in message
        assert caught.value.hint is not None

    def test_genre_given_twice_in_a_table_names_the_line(self, tmp_path: Path) -> None:
        again = playlist_line("spotify", "pop").replace('"pop"', "pop")
        text = _built_in_text().replace("[spotify]\n", f"[spotify]\n{again}\n")
        with pytest.raises(ConfigError) as caught:
            load_catalog(_write(tmp_path, text))
        second = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("pop =")][1]
        assert "not valid TOML: Cannot overwrite a value" in str(caught.value)
        assert f"(at line {second}," in str(caught.value)
        assert caught.value.hint is not None
        assert "each genre once per table" in caught.value.hint

    def test_two_spellings_of_one_genre_are_a_duplicate(self, tmp_path: Path) -> None:
        text = _built_in_text()
        for section in ("spotify", "apple_music", "soundcloud"):
            lines = f"{playlist_line(section, 'hip-hop')}\n{playlist_line(section, 'hiphop')}\n"
            text = text.replace(f"[{section}]\n", f"[{section}]\n{lines}")
        with pytest.raises(ConfigError) as caught:
            load_catalog(_write(tmp_path, text))
        line = _line_number(text, '"hiphop"')
        assert f"line {line}: [spotify] hiphop duplicates hip-hop" in str(caught.value)

    def test_malformed_id_names_the_line_and_a_well_formed_example(self, tmp_path: Path) -> None:
        text = _built_in_text().replace('id = "37i9dQZF1DXcBWIGoYBM5M"', 'id = "not-an-id"')
        with pytest.raises(ConfigError) as caught:
            load_catalog(_write(tmp_path, text))
        line = _line_number(text, '"not-an-id"')
        assert (
            f"line {line}: Spotify pop: id 'not-an-id' does not look like a Spotify playlist id "
            "(like '37i9dQZF1DXcBWIGoYBM5M')"
        ) in str(caught.value)

    def test_url_without_its_id_is_refused(self, tmp_path: Path) -> None:
        text = _built_in_text().replace(
            'url = "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"',
            'url = "https://open.spotify.com/playlist/elsewhere"',
        )
        with pytest.raises(ConfigError, match="the URL does not contain the id"):
            load_catalog(_write(tmp_path, text))

    def test_malformed_genre_name_suggests_its_spelling(self, tmp_path: Path) -> None:
        text = _built_in_text().replace("\npop = ", '\n"Hip Hop" = ', 1)
        with pytest.raises(ConfigError) as caught:
            load_catalog(_write(tmp_path, text))
        line = _line_number(text, '"Hip Hop"')
        assert f"line {line}: [spotify] 'Hip Hop' is not a genre name" in str(caught.value)
        assert "like 'hip-hop'" in str(caught.value)

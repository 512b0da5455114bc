"""The `tunemeld` program itself: version, help, global options, completion, etl.validate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli import SECRETS, _command, _env, tunemeld
from tunemeld import __version__, cli

INVOKE_INTERNALS = (
    "--prompt-for-sudo-password",
    "--write-pyc",
    "--dry",
    "--echo",
    "--pty",
    "--warn-only",
    "--hide",
    "--command-timeout",
    "--config",
    "--debug",
)


class TestVersionAndHelp:
    def test_version_prints_the_package_version(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "--version")
        assert result.returncode == 0
        assert result.stdout.strip() == f"TuneMeld {__version__}"

    def test_help_shows_tunemeld_options_and_groups_not_invoke_internals(
        self, tmp_path: Path
    ) -> None:
        result = tunemeld(tmp_path, "--help")
        assert result.returncode == 0
        text = result.stdout
        for flag in ("--env", "--log-level", "-v, --verbose", "--version", "--list"):
            assert flag in text
        for internal in INVOKE_INTERNALS:
            assert internal not in text, internal
        for group in ("etl", "api", "db", "config", "system", "cache", "sandbox"):
            module = getattr(cli, group)
            assert f"{group}.*" in text
            first_words = " ".join(cli.group_help(module).split()[:3])
            assert first_words in " ".join(text.split()), group

    def test_no_task_prints_the_same_help(self, tmp_path: Path) -> None:
        assert tunemeld(tmp_path).stdout == tunemeld(tmp_path, "--help").stdout

    def test_invoke_internals_are_not_accepted(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "--dry", "db.status")
        assert result.returncode == 1
        assert "No idea what '--dry' is" in result.stderr

    def test_unknown_task_keeps_invokes_exit_code(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "no-such-task")
        assert result.returncode == 1
        assert "No idea what 'no-such-task' is!" in result.stderr


class TestGlobalOptions:
    def test_env_picks_the_profile_for_the_task(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "--env", "production", "config.validate")
        assert result.returncode == 2
        assert "Production refuses these settings" in result.stderr

    def test_bad_env_is_a_usage_error_with_the_profiles(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "--env", "prod", "config.validate")
        assert result.returncode == 2
        assert "--env 'prod' is not a profile." in result.stderr
        assert "development, testing, production" in result.stderr
        assert "Traceback" not in result.stderr

    @pytest.mark.parametrize(
        ("flags", "level"),
        [(("-v",), "DEBUG"), (("--verbose",), "DEBUG"), (("--log-level", "warning"), "WARNING")],
    )
    def test_log_level_flags_reach_the_settings(
        self, tmp_path: Path, flags: tuple[str, ...], level: str
    ) -> None:
        result = tunemeld(tmp_path, *flags, "config.show")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["logging"]["level"] == level

    def test_bad_log_level_is_a_usage_error(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "--log-level", "loud", "db.status")
        assert result.returncode == 2
        assert "--log-level 'loud' is not a log level." in result.stderr


class TestCompletion:
    def test_completion_lists_tasks_and_global_flags(self, tmp_path: Path) -> None:
        tasks = tunemeld(tmp_path, "--complete", "--", "tunemeld", "etl.")
        assert {"etl.run", "etl.status", "etl.validate"} <= set(tasks.stdout.split())
        flags = tunemeld(tmp_path, "--complete", "--", "tunemeld", "--")
        assert {"--env", "--log-level", "--verbose"} <= set(flags.stdout.split())
        assert "--write-pyc" not in flags.stdout.split()

    @pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to source the script")
    def test_bash_script_completes_a_partial_task_name(self, tmp_path: Path) -> None:
        """Source the printed script in bash and tab on `tunemeld etl.va`."""
        script = tunemeld(tmp_path, "--print-completion-script", "bash")
        assert script.returncode == 0
        (tmp_path / "complete.sh").write_text(script.stdout)
        binary = Path(_command()[0])
        if binary.name != "tunemeld":
            pytest.skip("the console script is not installed")
        env = _env({"PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}"})
        result = subprocess.run(
            [
                "bash",
                "-c",
                "source complete.sh; COMP_WORDS=(tunemeld etl.va); COMP_CWORD=1; "
                '_complete_tunemeld tunemeld etl.va tunemeld; printf "%s\\n" "${COMPREPLY[@]}"',
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.stdout.split() == ["etl.validate"], result.stderr


class TestEtlValidate:
    def test_fresh_folder_on_the_sample_world_exits_zero(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "etl.validate")
        assert result.returncode == 0, result.stdout + result.stderr
        for row in ("configuration", "catalog", "store writable", "quota youtube_search"):
            assert row in result.stdout

    def test_production_without_keys_exits_two_listing_every_problem(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "etl.validate", env={"TUNEMELD_ENV": "production"})
        assert result.returncode == 2
        text = " ".join(result.stdout.split())
        for key in (
            "RAPIDAPI_KEY",
            "SPOTIFY_CLIENT_ID",
            "SPOTIFY_CLIENT_SECRET",
            "YOUTUBE_API_KEY",
        ):
            assert f"{key} is not set" in text
        assert "missing YOUTUBE_API_KEY" in text
        assert "Traceback" not in result.stderr


class TestConfigProfiles:
    def test_show_another_profile_masks_secrets_and_keeps_the_env_file(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / ".env").write_text("TUNEMELD_ENV=development\n")
        result = tunemeld(tmp_path, "config.show", "--env", "production", env=SECRETS)
        assert result.returncode == 0, result.stderr
        shown = json.loads(result.stdout)
        assert shown["env"] == "production"
        assert shown["providers"]["rapidapi_key"] == "**********"
        for secret in SECRETS.values():
            assert secret not in result.stdout + result.stderr
        assert (tmp_path / ".env").read_text() == "TUNEMELD_ENV=development\n"
        assert json.loads(tunemeld(tmp_path, "config.show").stdout)["env"] == "development"

    def test_show_a_refused_profile_prints_it_then_its_problems_and_exits_two(
        self, tmp_path: Path
    ) -> None:
        result = tunemeld(tmp_path, "config.show", "--env", "production")
        assert result.returncode == 2
        assert json.loads(result.stdout)["env"] == "production"
        assert "YOUTUBE_API_KEY is not set" in result.stderr

    def test_validate_another_profile(self, tmp_path: Path) -> None:
        result = tunemeld(tmp_path, "config.validate", "--env", "testing")
        assert result.returncode == 0
        assert "valid for the testing profile" in result.stdout
        refused = tunemeld(tmp_path, "config.validate", "--env", "production")
        assert refused.returncode == 2
        bad = tunemeld(tmp_path, "config.validate", "--env", "staging")
        assert bad.returncode == 2
        assert "--env 'staging' is not a profile." in bad.stderr

"""The devcontainer keeps its word: its files agree with the noxfile, the settings and the README.

`devcontainer_problems` compares the devcontainer files with the project's facts and lists every
disagreement; the tests run it on the real facts (no problems) and on altered ones (a Python
added to the noxfile's list, another default port), which it must catch.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tunemeld.config import Settings
from tunemeld.config.settings import ApiSettings

ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "devcontainer"


@dataclass(frozen=True)
class Facts:
    """What the project says, each read from its one home."""

    pythons: tuple[str, ...]
    api_port: int
    setup_lines: tuple[str, ...]


def noxfile_pythons(text: str) -> tuple[str, ...]:
    """The literal `PYTHONS = [...]` of noxfile.py (read, not imported: nox is not a test dep)."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PYTHONS" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py has no PYTHONS list")


def readme_setup_lines(text: str) -> tuple[str, ...]:
    """The commands of the README's Quick start code block, comments stripped."""
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "the Quick start has no bash block"
    lines = (line.split("#", 1)[0].strip() for line in block.group(1).splitlines())
    return tuple(line for line in lines if line)


def project_facts() -> Facts:
    return Facts(
        pythons=noxfile_pythons((ROOT / "noxfile.py").read_text("utf-8")),
        api_port=int(ApiSettings.model_fields["port"].default),
        setup_lines=readme_setup_lines((ROOT / "README.md").read_text("utf-8")),
    )


def _quotes(command: str) -> list[str]:
    """A shell command as words, so '.[dev]' and ".[dev]" compare equal."""
    return shlex.split(command)


def _runs_readme_setup(post: list[str], setup: list[list[str]]) -> bool:
    """True when `post` is how a README quick-start line begins, up to and including `inv setup`.

    The README line may go on (`&& inv etl.run ...`); the container only needs the set-up part.
    """
    if post[-2:] != ["inv", "setup"]:
        return False
    return any(line[: len(post)] == post for line in setup)


def _image_pythons(dockerfile: str) -> set[str]:
    base = re.search(r"^FROM\s+python:(\d+\.\d+)", dockerfile, re.M)
    extra = re.search(r'^ARG\s+EXTRA_PYTHONS="([^"]*)"', dockerfile, re.M)
    found = {base.group(1)} if base else set()
    if extra:
        found |= set(extra.group(1).split())
    return found


def _url_settings(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database URL TuneMeld reads when the container sets `name=value`."""
    with monkeypatch.context() as patch:
        patch.setenv(name, value)
        return Settings(_env_file=None).database.url


@dataclass
class Files:
    """The devcontainer files, parsed: both devcontainer.json files, compose, the Dockerfile."""

    configs: dict[str, dict[str, Any]]
    compose: dict[str, Any]
    dockerfile: str


def read_files() -> Files:
    return Files(
        configs={
            ".devcontainer.json": json.loads((ROOT / ".devcontainer.json").read_text("utf-8")),
            "devcontainer/devcontainer.json": json.loads(
                (FOLDER / "devcontainer.json").read_text("utf-8")
            ),
        },
        compose=yaml.safe_load((FOLDER / "docker-compose.yml").read_text("utf-8")),
        dockerfile=(FOLDER / "Dockerfile").read_text("utf-8"),
    )


def devcontainer_problems(facts: Facts, files: Files, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way the devcontainer files disagree with `facts`; empty when they keep their word."""
    configs, compose, dockerfile = files.configs, files.compose, files.dockerfile
    problems: list[str] = []
    wanted = set(facts.pythons)
    have = _image_pythons(dockerfile)
    if have != wanted:
        problems.append(
            f"the image's Pythons {sorted(have)} are not the noxfile's PYTHONS {sorted(wanted)}"
        )
    if not re.search(r"apt-get install[^\n]*\bchromium\b", dockerfile):
        problems.append("the image does not apt-get install chromium")

    setup = [_quotes(line) for line in facts.setup_lines]
    for name, config in configs.items():
        if config.get("forwardPorts") != [facts.api_port]:
            problems.append(
                f"{name} forwards {config.get('forwardPorts')}, not the API's default "
                f"port [{facts.api_port}]"
            )
        post = config.get("postCreateCommand", "")
        if not _runs_readme_setup(_quotes(post), setup):
            problems.append(f"{name} postCreateCommand {post!r} is not the README's setup line")
        service = config.get("service")
        if service not in compose.get("services", {}):
            problems.append(f"{name} names service {service!r}, which the compose file lacks")

    services = compose.get("services", {})
    app_env = services.get("app", {}).get("environment", {})
    mongo_vars = {k: v for k, v in app_env.items() if str(v).startswith("mongodb")}
    if not mongo_vars:
        problems.append("the app container sets no MongoDB URL")
    for name, value in mongo_vars.items():
        if _url_settings(name, value, monkeypatch) != value:
            problems.append(f"{name} is not a variable TuneMeld reads the database URL from")
        url = urlsplit(value)
        if url.hostname not in services:
            problems.append(f"{name} points at {url.hostname!r}, not a compose service")
        replica_set = parse_qs(url.query).get("replicaSet", [None])[0]
        command = services.get(url.hostname or "", {}).get("command", [])
        if replica_set is None or f"--replSet {replica_set}" not in " ".join(command):
            problems.append(f"{name}'s replicaSet is not the one MongoDB is started with")

    check = " ".join(services.get("mongo", {}).get("healthcheck", {}).get("test", []))
    if not re.search(r"quit\(\s*db\.hello\(\)\.isWritablePrimary\s*\?\s*0\s*:\s*1\s*\)", check):
        problems.append("the MongoDB health check does not wait for a writable primary")
    return problems


@pytest.fixture(name="files")
def _files() -> Files:
    """Freshly parsed, so a test may alter them."""
    return read_files()


class TestDevcontainer:
    def test_files_agree_with_the_project(
        self, files: Files, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Pythons = noxfile's, Chromium, README setup, a URL TuneMeld reads, the API's port."""
        assert devcontainer_problems(project_facts(), files, monkeypatch) == []

    def test_both_configs_point_at_the_same_compose_file(self, files: Files) -> None:
        configs = files.configs
        root = (ROOT / configs[".devcontainer.json"]["dockerComposeFile"]).resolve()
        inner = (FOLDER / configs["devcontainer/devcontainer.json"]["dockerComposeFile"]).resolve()
        assert root == inner == (FOLDER / "docker-compose.yml").resolve()

    def test_a_python_added_to_the_noxfile_is_caught(
        self, files: Files, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        facts = project_facts()
        changed = replace(facts, pythons=(*facts.pythons, "3.14"))
        problems = devcontainer_problems(changed, files, monkeypatch)
        assert any("PYTHONS" in p and "3.14" in p for p in problems), problems

    def test_another_default_port_is_caught(
        self, files: Files, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        changed = replace(project_facts(), api_port=8080)
        problems = devcontainer_problems(changed, files, monkeypatch)
        assert len([p for p in problems if "[8080]" in p]) == 2, problems

    def test_a_health_check_that_only_asks_rs_status_is_caught(
        self, files: Files, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        files.compose["services"]["mongo"]["healthcheck"]["test"] = [
            "CMD",
            "mongosh",
            "--eval",
            "rs.status().ok",
        ]
        problems = devcontainer_problems(project_facts(), files, monkeypatch)
        assert problems == ["the MongoDB health check does not wait for a writable primary"]

    def test_a_url_variable_tunemeld_does_not_read_is_caught(
        self, files: Files, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env = files.compose["services"]["app"]["environment"]
        env["MONGO_URL_TYPO"] = env.pop("MONGODB_URL")
        problems = devcontainer_problems(project_facts(), files, monkeypatch)
        assert "MONGO_URL_TYPO is not a variable TuneMeld reads the database URL from" in problems

    def test_the_noxfile_list_is_read_from_its_source(self) -> None:
        text = 'import nox\nPYTHONS = ["3.9", "3.10"]\n'
        assert noxfile_pythons(text) == ("3.9", "3.10")

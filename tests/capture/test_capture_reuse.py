"""collect_json_safe(): many runs in one process reuse the snapshot until what it shows changes."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import pytest

from labtrack import credentials
from labtrack._names import new_run_id, new_run_name, valid_run_id
from labtrack.capture import collect_json_safe, environment
from labtrack.capture.environment import capture_command
from labtrack.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LABTRACK_DISABLE_GIT", "1")
    return Settings(dir=tmp_path / "store")


def _without_timing(info: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in info.items() if k != "capture_seconds"}


def test_the_same_snapshot_is_given_again_while_nothing_changed(settings: Settings) -> None:
    first = collect_json_safe(settings)
    again = collect_json_safe(settings)
    assert _without_timing(again) == _without_timing(first)
    assert again is not first  # each run gets its own top-level dict
    assert first["git"] == {"available": False, "reason": "disabled"}
    assert first["packages"] and first["machine"] and isinstance(first["env"], dict)


def test_a_changed_environment_variable_shows(settings: Settings,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    collect_json_safe(settings)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert collect_json_safe(settings)["env"]["CUDA_VISIBLE_DEVICES"] == "3"
    monkeypatch.setenv("HF_TOKEN", "hf-secret-value-123")  # a secret: masked, and scrubbed
    info = collect_json_safe(settings)
    assert info["env"]["HF_TOKEN"] == "***"
    assert "hf-secret-value-123" not in repr(info)


def test_a_changed_directory_argv_or_package_list_shows(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    collect_json_safe(settings)
    monkeypatch.chdir(tmp_path)
    assert collect_json_safe(settings)["command"]["cwd"] == str(tmp_path)
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--seed", "7"])
    assert collect_json_safe(settings)["command"]["argv"][-2:] == ["--seed", "7"]
    real = environment.current_packages
    changed = {**real(None), "brand-new-package": "1.0"}  # a new list: a new dict
    monkeypatch.setattr(environment, "current_packages", lambda cache=None: changed)
    assert collect_json_safe(settings)["packages"]["brand-new-package"] == "1.0"


def test_python_version_and_implementation_match_platform() -> None:
    cmd = capture_command()
    assert cmd["python"] == platform.python_version()
    assert cmd["implementation"] == platform.python_implementation()


def test_credentials_are_read_again_when_the_file_changes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "creds.json"
    monkeypatch.setenv("LABTRACK_CONFIG", str(target))
    assert credentials.load() == {}
    credentials.save("http://127.0.0.1:1", "lt_first")
    assert credentials.load()["api_key"] == "lt_first"
    credentials.save("http://127.0.0.1:1", "lt_second-and-longer")
    assert credentials.load()["api_key"] == "lt_second-and-longer"
    os.unlink(target)
    assert credentials.load() == {}


def test_run_ids_and_names_are_random_and_valid() -> None:
    ids = {new_run_id() for _ in range(2000)}
    assert len(ids) == 2000 and all(len(i) == 8 and valid_run_id(i) for i in ids)
    assert set("".join(ids)) == set("abcdefghijklmnopqrstuvwxyz0123456789")
    names = {new_run_name() for _ in range(200)}
    assert len(names) > 190
    adjective, noun, number = next(iter(names)).split("-")
    assert adjective.isalpha() and noun.isalpha() and 0 <= int(number) < 10000

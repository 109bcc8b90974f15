"""Command, packages, machine and environment-variable capture, and collect()."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from labtrack.capture import collect, environment
from labtrack.capture.environment import (
    capture_command,
    capture_env_vars,
    capture_machine,
    capture_packages,
    relative_program,
)
from labtrack.settings import Settings

SECRET = "s3cr3t-Value-981"


def test_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [sys.argv[0], "--lr", "0.1", "--api-key", SECRET])
    cmd = capture_command()
    assert cmd["argv"][1:] == ["--lr", "0.1", "--api-key", "***"]
    assert cmd["pid"] == os.getpid()
    assert cmd["cwd"] == os.getcwd()
    assert Path(cmd["executable"]).exists()
    assert cmd["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")
    assert cmd["program"] is None or (
        os.path.isabs(cmd["program"]) and os.path.isfile(cmd["program"])
    )
    assert SECRET not in json.dumps(cmd)


def test_command_of_a_real_script(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import json\n"
        "from labtrack.capture.environment import capture_command\n"
        "print(json.dumps(capture_command()))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "train.py", "--epochs", "3", "--password=pw"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cmd = json.loads(out)
    assert cmd["program"] == str(script.resolve())
    assert cmd["argv"] == ["train.py", "--epochs", "3", "--password=***"]
    assert Path(cmd["cwd"]).resolve() == tmp_path.resolve()
    assert relative_program(cmd["program"], str(tmp_path)) == "train.py"
    assert relative_program(cmd["program"], "/somewhere/else") is None


def test_packages_match_installed_versions() -> None:
    packages = capture_packages()
    assert packages["psutil"] == psutil.__version__
    assert packages["pytest"] == pytest.__version__
    assert list(packages) == sorted(packages, key=str.lower)


def test_machine() -> None:
    machine = capture_machine()
    json.dumps(machine)
    assert machine["hostname"] == socket.gethostname()
    assert machine["cpu_count_logical"] == os.cpu_count()
    assert 1 <= machine["cpu_count_available"] <= machine["cpu_count_logical"]
    assert machine["memory_total_mb"] == pytest.approx(psutil.virtual_memory().total / 2**20)
    assert machine["os"] and machine["kernel"]
    assert isinstance(machine["gpus"], list)
    for gpu in machine["gpus"]:
        assert gpu["name"] and gpu["memory_total_mb"] > 0


def test_env_vars_allow_list_and_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("LABTRACK_API_KEY", SECRET)
    monkeypatch.setenv("HF_ENDPOINT", f"https://me:{SECRET}@hf.example.com")
    monkeypatch.setenv("MY_API_TOKEN", SECRET)
    monkeypatch.setenv("UNRELATED_SETTING", "x")
    env = capture_env_vars()
    assert env["OMP_NUM_THREADS"] == "4"
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["HF_TOKEN"] == "***"
    assert env["LABTRACK_API_KEY"] == "***"
    assert env["HF_ENDPOINT"] == "https://hf.example.com"
    assert "MY_API_TOKEN" not in env and "UNRELATED_SETTING" not in env
    assert "HOME" not in env and "PATH" not in env
    assert SECRET not in json.dumps(env)


def test_collect_leaks_no_secret(monkeypatch: pytest.MonkeyPatch, repo: Path, git: object) -> None:
    monkeypatch.setenv("MY_API_TOKEN", SECRET)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    # a token passed positionally is only caught because its value is a secret env var
    monkeypatch.setattr(sys, "argv", ["train.py", "--api-key", SECRET, SECRET])
    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "train.py", SECRET], raising=False)
    (repo / "README.md").write_text(f"token {SECRET}\n")  # in the diff, never in the dict
    info, diff = collect(Settings(), path=repo)
    text = json.dumps(info)
    assert SECRET not in text
    assert info["env"]["HF_TOKEN"] == "***"
    assert diff is not None and SECRET.encode() in diff


def test_collect_full(repo: Path) -> None:
    (repo / "src" / "model.py").write_text("changed = True\n")
    info, diff = collect(Settings(), path=repo / "src")
    assert set(info) >= {"git", "command", "packages", "machine", "env", "errors"}
    assert info["errors"] == {}
    assert info["git"]["dirty"] is True
    assert diff is not None and b"changed = True" in diff
    assert info["git"]["diff_bytes"] == len(diff)
    assert info["git"]["diff_sha256"] == hashlib.sha256(diff).hexdigest()
    assert info["packages"]["psutil"] == psutil.__version__
    assert json.loads(json.dumps(info)) == info


def test_collect_clean_repo_has_no_diff(repo: Path) -> None:
    info, diff = collect(Settings(), path=repo)
    assert info["git"]["available"] is True and diff is None


def test_collect_honours_disable_flags(repo: Path) -> None:
    (repo / "README.md").write_text("edited\n")
    info, diff = collect(Settings(disable_git=True), path=repo)
    assert info["git"] == {"available": False, "reason": "disabled"} and diff is None

    info, diff = collect(Settings(disable_code_diff=True), path=repo)
    assert info["git"]["dirty"] is True and diff is None

    info, diff = collect(Settings(disable_env=True), path=repo)
    assert info["packages"] is None and info["machine"] is None and info["env"] is None
    assert info["command"]["pid"] == os.getpid()
    assert diff is not None


def test_collect_outside_a_repo(tmp_path: Path, git_env: None) -> None:
    info, diff = collect(None, path=tmp_path)
    assert info["git"]["available"] is False and diff is None
    assert info["command"] is not None


def test_collect_records_errors_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch, repo: Path
) -> None:
    def broken(*args: object) -> dict[str, str]:
        raise RuntimeError("metadata is corrupt")

    monkeypatch.setattr(environment, "capture_packages", broken)
    info, _ = collect(Settings(), path=repo)
    assert info["packages"] is None
    assert info["errors"] == {"packages": "RuntimeError: metadata is corrupt"}
    assert info["machine"]["hostname"] == socket.gethostname()


def test_collect_in_a_background_thread(repo: Path) -> None:
    results: list[tuple[dict, bytes | None]] = []
    thread = threading.Thread(target=lambda: results.append(collect(Settings(), path=repo)))
    thread.start()
    thread.join(30)
    assert results and results[0][0]["git"]["available"] is True


def _dist(site: Path, name: str, version: str) -> None:
    """A minimal installed distribution, as pip leaves one in site-packages."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_package_scan_is_kept_for_later_processes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(environment, "_packages_cache", None)
    first = capture_packages(cache)
    saved = json.loads((cache / "packages.json").read_text())
    assert saved["value"]["packages"] == first

    # a later process (no in-process memo) reads the file instead of scanning
    def no_scan() -> None:
        raise AssertionError("scanned although the cache was valid")

    monkeypatch.setattr(environment, "_packages_cache", None)
    monkeypatch.setattr(environment, "_scan_packages", no_scan)
    assert capture_packages(cache) == first


def test_installing_a_package_means_a_new_scan(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cache, site = tmp_path / "cache", tmp_path / "site"
    _dist(site, "oldpkg", "0.1")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(cache)["oldpkg"] == "0.1"
    _dist(site, "newpkg", "1.0")
    os.utime(site, ns=(1, 1))  # a different mtime, whatever the clock's granularity
    monkeypatch.setattr(environment, "_packages_cache", None)  # a later process
    packages = capture_packages(cache)
    assert packages["newpkg"] == "1.0" and packages["oldpkg"] == "0.1"
    (site / "oldpkg-0.1.dist-info" / "METADATA").unlink()
    (site / "oldpkg-0.1.dist-info").rmdir()
    os.utime(site, ns=(2, 2))
    assert "oldpkg" not in capture_packages(cache)  # the same process notices too


def test_files_written_beside_the_script_keep_the_scan(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # a script's folder (sys.path[0]) holds no distribution; a run writing checkpoints
    # there changes its mtime, which says nothing about packages
    cache, scripts = tmp_path / "cache", tmp_path / "project"
    scripts.mkdir()
    monkeypatch.setattr(sys, "path", [str(scripts), *sys.path])
    monkeypatch.setattr(environment, "_packages_cache", None)
    first = capture_packages(cache)
    (scripts / "checkpoint.pt").write_bytes(b"x")
    os.utime(scripts, ns=(1, 1))

    def no_scan() -> None:
        raise AssertionError("scanned although no package changed")

    monkeypatch.setattr(environment, "_scan_packages", no_scan)
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(cache) == first
    # another script's folder first on sys.path, without distributions: the same scan
    other = tmp_path / "other-project"
    other.mkdir()
    (other / "train.py").write_text("print(1)")
    monkeypatch.setattr(sys, "path", [str(other), *sys.path[1:]])
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(cache) == first
    # a folder new on sys.path that holds a distribution: a new scan
    (other / "extra-1.0.dist-info").mkdir()
    monkeypatch.setattr(environment, "_packages_cache", None)
    with pytest.raises(AssertionError, match="scanned"):
        capture_packages(cache)


def test_folders_holding_distributions_in_another_order_mean_a_new_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the same name in two folders: the one first on sys.path wins, so order matters
    folders = []
    for name, version in (("a", "1.0"), ("b", "2.0")):
        dist = tmp_path / name / f"twice-{version}.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text(f"Name: twice\nVersion: {version}\n\nbody")
        folders.append(str(tmp_path / name))
    cache = tmp_path / "cache"
    rest = [p for p in sys.path if p]
    monkeypatch.setattr(sys, "path", [*folders, *rest])
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(cache)["twice"] == "1.0"
    monkeypatch.setattr(sys, "path", [*folders[::-1], *rest])
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(cache)["twice"] == "2.0"


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"key": 1, "value": {}}',
                                     '{"key": null, "value": {"a": 1}}',
                                     '{"key": null, "value": {"state": 3, "packages": {}}}'])
def test_damaged_package_cache_means_a_new_scan(tmp_path: Path, content: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "packages.json").write_text(content)
    monkeypatch.setattr(environment, "_packages_cache", None)
    assert capture_packages(tmp_path)["pytest"] == pytest.__version__
    assert json.loads((tmp_path / "packages.json").read_text())["value"]["packages"][
        "pytest"] == pytest.__version__


def test_unwritable_cache_folder_is_ignored(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(environment, "_packages_cache", None)
    monkeypatch.setattr(environment, "_machine_cache", None)
    assert capture_packages(blocker / "cache")["pytest"] == pytest.__version__
    assert capture_machine(blocker / "cache")["hostname"] == socket.gethostname()


@pytest.mark.skipif(not os.path.exists("/proc/sys/kernel/random/boot_id"),
                    reason="the machine cache is keyed by Linux's boot id")
def test_machine_is_kept_until_reboot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "_machine_cache", None)
    first = capture_machine(tmp_path)
    assert json.loads((tmp_path / "machine.json").read_text())["value"] == first

    def no_scan(affinity: int | None) -> dict[str, object]:
        raise AssertionError("scanned although the cache was valid")

    monkeypatch.setattr(environment, "_machine_cache", None)
    monkeypatch.setattr(environment, "_scan_machine", no_scan)
    assert capture_machine(tmp_path) == first
    # another boot: scanned again
    monkeypatch.setattr(environment, "_machine_cache", None)
    monkeypatch.setattr(environment, "_boot_id", lambda: "another-boot")
    monkeypatch.setattr(environment, "_scan_machine", lambda affinity: {"hostname": "x"})
    assert capture_machine(tmp_path) == {"hostname": "x"}


def test_collect_keeps_scans_in_the_store(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "_packages_cache", None)
    settings = Settings(dir=tmp_path, disable_git=True)
    info, _ = collect(settings)
    assert info["packages"]["pytest"] == pytest.__version__
    assert (tmp_path / "cache" / "packages.json").is_file()

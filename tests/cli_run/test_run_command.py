"""``labtrack run``: a real command under the real CLI, read back from the real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import labtrack
from labtrack.blobs import LocalBlobStore
from labtrack.cli import cli as labtrack_cli
from labtrack.cli.run_cmd import parse_config

PY = sys.executable
Script = Callable[[str, str], Path]


def only_run(store: Path) -> labtrack.api.ApiRun:  # type: ignore[name-defined]
    runs = labtrack.Api(store).runs()
    assert len(runs) == 1, [r.id for r in runs]
    return labtrack.Api(store).run(runs[0].id)


def run_file(store: Path, run: object, name: str) -> bytes:
    entry = next(f for f in run.files() if f["path"] == name)  # type: ignore[attr-defined]
    return LocalBlobStore(store / "blobs").get_bytes(entry["digest"])


def test_crashing_script_is_failed_with_exit_code_and_stderr_tail(cli, script: Script,
                                                                   store_dir: Path) -> None:
    crash = script("crash.py", """
        import sys
        print("epoch 1 ok")
        print("loading shard 7", file=sys.stderr)
        raise RuntimeError("CUDA out of memory on shard 7")
    """)
    proc = cli("run", "-p", "crashes", "--", PY, str(crash))
    assert proc.returncode == 1
    assert "epoch 1 ok" in proc.stdout  # still printed to the terminal
    assert "CUDA out of memory" in proc.stderr
    run = only_run(store_dir)
    assert run.state == "failed" and run.exit_code == 1 and run.project == "crashes"
    assert "exited with code 1" in run.error
    assert "RuntimeError: CUDA out of memory on shard 7" in run.error
    assert "loading shard 7" in run.error


def test_exit_code_is_passed_through_and_recorded(cli, script: Script, store_dir: Path) -> None:
    quits = script("quits.py", "import sys\nsys.stderr.write('disk full\\n')\nsys.exit(7)\n")
    proc = cli("run", "--", PY, str(quits))
    assert proc.returncode == 7
    run = only_run(store_dir)
    assert (run.state, run.exit_code) == ("failed", 7)
    assert run.error.endswith("disk full")


def test_sigterm_is_forwarded_and_the_run_is_killed(labtrack_argv: list[str],
                                                     child_env: dict[str, str], script: Script,
                                                     tmp_path: Path, store_dir: Path) -> None:
    ready = tmp_path / "child.pid"
    slow = script("slow.py", f"""
        import os, time, labtrack
        labtrack.init()
        labtrack.log({{"started": 1}})
        open({str(ready)!r}, "w").write(str(os.getpid()))
        while True:
            time.sleep(0.05)
    """)
    wrapper = subprocess.Popen([*labtrack_argv, "run", "--", PY, str(slow)], env=child_env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text()):
        assert wrapper.poll() is None, wrapper.communicate()
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    child_pid = int(ready.read_text())
    wrapper.send_signal(signal.SIGTERM)
    wrapper.communicate(timeout=30)
    assert wrapper.returncode == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)  # the child is gone (and was reaped)
    run = only_run(store_dir)
    assert run.state == "killed"
    assert run.exit_code == 128 + signal.SIGTERM
    assert "SIGTERM" in run.error
    assert "started" in run.keys()  # the child's metrics landed before it was stopped


def test_sigint_is_forwarded_and_the_run_is_killed(labtrack_argv: list[str],
                                                    child_env: dict[str, str], script: Script,
                                                    tmp_path: Path, store_dir: Path) -> None:
    ready = tmp_path / "ready"
    slow = script("interruptible.py", f"""
        import time
        try:  # the flag is written inside the try: SIGINT may come right after it
            open({str(ready)!r}, "w").write("1")
            time.sleep(60)
        except KeyboardInterrupt:
            print("saving checkpoint before exit", flush=True)
            raise
    """)
    wrapper = subprocess.Popen([*labtrack_argv, "run", "--", PY, str(slow)], env=child_env,
                               cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert wrapper.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    wrapper.send_signal(signal.SIGINT)
    out, _ = wrapper.communicate(timeout=30)
    assert wrapper.returncode == 128 + signal.SIGINT
    assert "saving checkpoint before exit" in out  # the command could clean up
    run = only_run(store_dir)
    assert run.state == "killed" and "SIGINT" in run.error and "KeyboardInterrupt" in run.error


def test_console_is_saved_while_the_command_runs(labtrack_argv: list[str],
                                                 child_env: dict[str, str], script: Script,
                                                 tmp_path: Path, store_dir: Path) -> None:
    go = tmp_path / "go"
    waits = script("waits.py", f"""
        import os, time
        print("epoch 1: loss 0.5")
        while not os.path.exists({str(go)!r}):
            time.sleep(0.05)
        print("epoch 2: loss 0.25")
    """)
    wrapper = subprocess.Popen([*labtrack_argv, "run", "--", PY, str(waits)], env=child_env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    live = None
    deadline = time.monotonic() + 20
    try:
        while live is None and time.monotonic() < deadline:
            time.sleep(0.2)
            runs = labtrack.Api(store_dir).runs()
            if runs and any(f["path"] == "console/output.log" for f in runs[0].files()):
                live = run_file(store_dir, runs[0], "console/output.log")
                assert runs[0].state == "running"
    finally:
        go.write_text("1")
        wrapper.communicate(timeout=30)
    assert live == b"epoch 1: loss 0.5\n"
    final = run_file(store_dir, only_run(store_dir), "console/output.log")
    assert final == b"epoch 1: loss 0.5\nepoch 2: loss 0.25\n"


def test_child_init_attaches_to_the_same_run(cli, script: Script, store_dir: Path) -> None:
    train = script("train.py", """
        import labtrack
        run = labtrack.init(project="ignored", config={"lr": 0.1, "layers": 2})
        for step in range(20):
            labtrack.log({"loss": 1.0 / (step + 1)})
        run.summary["best"] = 0.95
        run.finish()
    """)
    proc = cli("run", "-p", "mnist", "-n", "baseline", "-t", "a", "-t", "b", "-g", "g1",
               "--notes", "first try", "-c", "batch=32", "-c", "opt=adam", "--", PY, str(train))
    assert proc.returncode == 0, proc.stderr
    run = only_run(store_dir)
    assert (run.state, run.exit_code) == ("finished", 0)
    assert (run.project, run.name, run.tags, run.group, run.notes) == (
        "mnist", "baseline", ["a", "b"], "g1", "first try")
    assert run.config == {"batch": 32, "opt": "adam", "lr": 0.1, "layers": 2}
    steps, values, _ = run.series("loss")
    assert list(steps) == list(range(20))
    assert values[-1] == pytest.approx(1 / 20)
    assert run.summary["best"] == 0.95
    # the command, not the wrapper, is what the run records
    command = run.environment["command"]
    assert command["launcher"] == "labtrack run"
    assert command["argv"] == [PY, str(train)]
    assert command["program"] == str(train.resolve())
    assert (store_dir / "runs" / run.id / "child.log").exists()


def test_console_is_captured_in_order(cli, script: Script, store_dir: Path) -> None:
    chatty = script("chatty.py", r"""
        import sys, time
        for i in range(6):
            stream = sys.stdout if i % 2 == 0 else sys.stderr
            print(f"line {i} on {stream.name}", file=stream)
            time.sleep(0.03)
        for pct in (10, 50, 100):
            sys.stderr.write(f"\rprogress {pct}%")
            time.sleep(0.01)
        sys.stderr.write("\n")
        sys.stdout.write("no newline at the end")
    """)
    proc = cli("run", "--", PY, str(chatty))
    assert proc.returncode == 0
    assert "line 0 on <stdout>" in proc.stdout and "line 1 on <stderr>" not in proc.stdout
    assert "line 1 on <stderr>" in proc.stderr
    run = only_run(store_dir)
    text = run_file(store_dir, run, "console/output.log").decode()
    expected = [f"line {i} on <{'stdout' if i % 2 == 0 else 'stderr'}>" for i in range(6)]
    lines = text.splitlines()
    # each stream keeps its own order; between the two pipes the order is the order lines
    # reach the wrapper, which a loaded machine may swap when they are milliseconds apart
    assert sorted(lines) == sorted([*expected, "progress 100%", "no newline at the end"])
    for stream in ("stdout", "stderr"):
        mine = [line for line in lines if line.endswith(f"<{stream}>")]
        assert mine == [e for e in expected if e.endswith(f"<{stream}>")]
    assert lines[-1] == "no newline at the end"


def test_console_cap_keeps_head_and_tail(cli, script: Script, child_env: dict[str, str],
                                         store_dir: Path) -> None:
    noisy = script("noisy.py", "for i in range(2000):\n    print(f'row {i:05d}')\n")
    env = dict(child_env, LABTRACK_CONSOLE_MAX_BYTES="4000")
    proc = cli("run", "--", PY, str(noisy), env=env)
    assert proc.returncode == 0
    assert proc.stdout.count("row ") == 2000  # the terminal sees everything
    text = run_file(store_dir, only_run(store_dir), "console/output.log").decode()
    assert len(text) < 4200
    assert text.startswith("row 00000\n")
    assert text.endswith("row 01999\n")
    omitted = 2000 * len("row 00000\n") - 4000
    assert f"[labtrack: {omitted} bytes left out here" in text


def test_secrets_never_reach_the_store(cli, script: Script, child_env: dict[str, str],
                                       store_dir: Path) -> None:
    token = "tok-5f3a9c1e7b2d4806"
    leaky = script("leaky.py", """
        import os, sys, labtrack
        token = os.environ["MY_SECRET_TOKEN"]
        print("using", token)
        labtrack.init(config={"lr": 0.01})
        labtrack.log({"x": 1})
        print("auth failed for", token, file=sys.stderr)
        sys.exit(2)
    """)
    env = dict(child_env, MY_SECRET_TOKEN=token, LABTRACK_DISABLE_STATS="0",
               LABTRACK_STATS_INTERVAL="0.1")
    proc = cli("run", "--", PY, str(leaky), "--api-key", token, token, env=env)
    assert proc.returncode == 2
    assert token in proc.stdout  # the terminal shows what the command printed
    run = only_run(store_dir)
    assert run.state == "failed" and "auth failed for ***" in run.error
    console = run_file(store_dir, run, "console/output.log")
    assert b"using ***" in console
    assert run.environment["command"]["argv"][-3:] == ["--api-key", "***", "***"]
    files = [p for p in store_dir.rglob("*") if p.is_file()]
    assert any(p.name == "labtrack.db" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        assert token.encode() not in path.read_bytes(), path


def test_system_metrics_of_the_child_are_recorded(cli, script: Script, child_env: dict[str, str],
                                                  store_dir: Path) -> None:
    busy = script("busy.py", """
        import time
        data = bytearray(30 * 1024 * 1024)  # 30 MiB the child's RSS must show
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            sum(range(10000))
    """)
    env = dict(child_env, LABTRACK_DISABLE_STATS="0", LABTRACK_STATS_INTERVAL="0.2")
    proc = cli("run", "--", PY, str(busy), env=env)
    assert proc.returncode == 0, proc.stderr
    run = only_run(store_dir)
    system = {s["key"]: s for s in run.series_info() if s["key"].startswith("system/")}
    assert {"system/cpu_percent", "system/proc_cpu_percent", "system/proc_rss_mb",
            "system/memory_used_mb"} <= system.keys()
    steps, rss, _ = run.series("system/proc_rss_mb")
    assert len(steps) >= 4
    assert max(rss) > 30  # the child's memory, not only the wrapper's
    _, cpu, _ = run.series("system/proc_cpu_percent")
    assert max(cpu) > 20  # the busy loop


def test_command_not_found_is_a_clear_error(cli, store_dir: Path) -> None:
    proc = cli("run", "--", "no-such-program-xyz", "--flag")
    assert proc.returncode == 2
    assert "command not found: no-such-program-xyz" in proc.stderr
    assert not (store_dir / "runs").exists() or not any((store_dir / "runs").iterdir())


def test_wandb_flag(cli, script: Script) -> None:
    show = script("show_path.py", "import sys\nprint(sys.path[1])\n")
    proc = cli("run", "--wandb", "--", PY, str(show))
    try:
        from labtrack.compat import shim_dir  # type: ignore[attr-defined]
    except ImportError:
        assert proc.returncode == 2
        assert "wandb shim is not available yet" in proc.stderr
    else:
        assert proc.returncode == 0
        assert proc.stdout.strip() == str(shim_dir())


def test_run_help_documents_the_options() -> None:
    result = CliRunner().invoke(labtrack_cli, ["run", "--help"])
    assert result.exit_code == 0
    for option in ("--project", "--name", "--tag", "--group", "--notes", "--config", "--dir",
                   "--wandb", "LABTRACK_CONSOLE_MAX_BYTES"):
        assert option in result.output


def test_parse_config_reads_json_values() -> None:
    assert parse_config(("lr=0.001", "epochs=10", "opt=adam", "layers=[64, 32]",
                         "amp=true", "note=a=b")) == {
        "lr": 0.001, "epochs": 10, "opt": "adam", "layers": [64, 32], "amp": True,
        "note": "a=b"}
    with pytest.raises(labtrack.errors.UsageError):
        parse_config(("novalue",))

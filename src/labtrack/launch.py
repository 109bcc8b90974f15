"""Track any command as a run: what ``labtrack run -- python train.py`` does.

This process (the wrapper) owns the run: it makes it, records the code and
environment of the *command* (not of itself), samples system metrics of the
command's process tree, captures its console, and sets the final state from
the exit code or signal. The command gets ``LABTRACK_RUN_ID``,
``LABTRACK_RUN_STREAM=child`` and ``LABTRACK_DIR``, so a ``labtrack.init()``
inside it attaches to the same run and logs into the side stream
``runs/<id>/child.log``.

States: exit code 0 -> ``finished``; another exit code -> ``failed`` (the error
is the tail of stderr); killed by a signal, or SIGTERM/SIGINT/SIGHUP received
by the wrapper (they are forwarded to the command) -> ``killed``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import UsageError
from .settings import Settings

CONSOLE_FILE = "console/output.log"
DIFF_FILE = "code/uncommitted.diff"
LIVE_BYTES = 256 * 1024  # live console snapshots show at most this much (the end)
LIVE_FIRST = 2.0  # seconds before the first live console snapshot ...
LIVE_MAX = 60.0  # ... growing by half each time up to this interval
_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?(\.exe)?$")
FORWARDED = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n))

_PACKAGES_SCRIPT = (
    "import json,platform,sys\n"
    "from importlib import metadata\n"
    "p={}\n"
    "for d in metadata.distributions():\n"
    "    try:\n"
    "        n=d.metadata['Name']\n"
    "        if n and n not in p: p[str(n)]=str(d.version)\n"
    "    except Exception: pass\n"
    "print(json.dumps({'python':platform.python_version(),"
    "'implementation':platform.python_implementation(),'executable':sys.executable,"
    "'virtualenv':sys.prefix if sys.prefix!=sys.base_prefix else None,"
    "'packages':dict(sorted(p.items(),key=lambda i:i[0].lower()))}))\n"
)


@dataclasses.dataclass
class Launched:
    """The outcome of :func:`track_command`."""

    run_id: str | None
    state: str
    exit_code: int
    signal: int | None = None


def track_command(
    argv: Sequence[str],
    *,
    project: str | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    group: str | None = None,
    notes: str | None = None,
    config: Mapping[str, Any] | None = None,
    dir: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    reproduced_from: str | None = None,
    wandb_shim: bool = False,
) -> Launched:
    """Run ``argv`` as a tracked run and wait for it.

    Args:
        argv: the command, e.g. ``["python", "train.py", "--lr", "0.1"]``.
        project, name, tags, group, notes, config: the run's metadata.
        dir: store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).
        cwd: where to run the command (default: the current directory).
        extra_env: more environment variables for the command.
        reproduced_from: id of the run this one reproduces (``labtrack reproduce --exec``).
        wandb_shim: put the ``wandb`` shim on the command's ``PYTHONPATH``.

    Returns:
        the run id, its final state and the command's exit code (128 + N when
        it was killed by signal N).

    Raises:
        UsageError: the command is empty or not found, or the shim is missing.
    """
    if not argv:
        raise UsageError("no command given: labtrack run [OPTIONS] -- COMMAND [ARGS]...")
    settings = Settings()
    if dir is not None:
        settings.dir = Path(dir).expanduser()
    workdir = Path(cwd if cwd is not None else os.getcwd()).resolve()
    if not workdir.is_dir():
        raise UsageError(f"working directory {workdir} does not exist")
    env = _child_base_env(extra_env, wandb_shim)
    exe = _resolve(argv[0], workdir, env.get("PATH"))
    run = _make_run(settings, project, name, tags, group, notes, config, reproduced_from)
    from ._run import Run

    if not isinstance(run, Run):  # mode="disabled": run the command untracked
        code = subprocess.call(list(argv), cwd=workdir, env=env, executable=exe)
        return Launched(None, "disabled", _shell_code(code))
    locked = [k for k, v in (("project", project), ("name", name), ("tags", tags),
                             ("group", group), ("notes", notes)) if v]
    env.update(LABTRACK_RUN_ID=run.id, LABTRACK_RUN_STREAM="child",
               LABTRACK_DIR=str(settings.dir), LABTRACK_RUN_LOCKED=",".join(locked))
    for key in ("LABTRACK_REPRODUCED_FROM", "LABTRACK_SWEEP_ID"):
        env.pop(key, None)  # the wrapper's run carries them; a nested run must not
    return _Tracker(run, settings, list(argv), exe, workdir, env).execute()


def _child_base_env(extra_env: Mapping[str, str] | None, wandb_shim: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra_env or {})
    env.setdefault("PYTHONUNBUFFERED", "1")  # keeps stdout/stderr in order through pipes
    if wandb_shim:
        try:
            from .compat import shim_dir

            shim = str(shim_dir())
        except (ImportError, AttributeError):
            raise UsageError("--wandb: the wandb shim is not available yet in this version "
                             "of labtrack; use `import labtrack as wandb` instead") from None
        env["PYTHONPATH"] = os.pathsep.join(p for p in (shim, env.get("PYTHONPATH")) if p)
    return env


def _resolve(program: str, cwd: Path, path: str | None) -> str:
    if os.sep in program or (os.altsep and os.altsep in program):
        candidate = (cwd / program) if not os.path.isabs(program) else Path(program)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise UsageError(f"cannot run {program}: not an executable file")
    found = shutil.which(program, path=path)
    if found is None:
        raise UsageError(f"command not found: {program} (not on PATH)")
    return found


@contextmanager
def _env_var(name: str, value: str | None) -> Iterator[None]:
    if value is None:
        yield
        return
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _make_run(settings: Settings, project: str | None, name: str | None, tags: Sequence[str],
              group: str | None, notes: str | None, config: Mapping[str, Any] | None,
              reproduced_from: str | None) -> Any:
    from ._init import init

    overrides: dict[str, Any] = {"disable_env": True, "disable_git": True,
                                 "disable_stats": True, "run_stream": "main", "run_id": None}
    run_id = None
    if settings.run_id and settings.run_stream == "main":
        run_id = settings.run_id  # a sweep agent handed this command its run
    with _env_var("LABTRACK_REPRODUCED_FROM", reproduced_from):
        return init(project=project, name=name, config=dict(config) if config else None,
                    tags=list(tags) or None, group=group, notes=notes, dir=settings.dir,
                    id=run_id, resume="allow" if run_id else None, settings=overrides)


def _shell_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class _Tracker:
    """One tracked command: spawn, pump the console, forward signals, set the state."""

    def __init__(self, run: Any, settings: Settings, argv: list[str], exe: str, cwd: Path,
                 env: dict[str, str]) -> None:
        self.run = run
        self.settings = settings
        self.argv = argv
        self.exe = exe
        self.cwd = cwd
        self.env = env
        self.signals: list[int] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.capture: Any = None
        self._done = threading.Event()

    def execute(self) -> Launched:
        run = self.run
        capture_thread = threading.Thread(target=self._capture_environment, daemon=True,
                                          name=f"labtrack-capture-{run.id}")
        run._capture_thread = capture_thread
        capture_thread.start()
        run._writer.flush()  # the run must be in the index before the child attaches
        if self.settings.console.strip().lower() not in ("off", "0", "false", "no"):
            from .capture.secrets import secret_values
            from .console import ConsoleCapture

            self.capture = ConsoleCapture(
                max(2, self.settings.console_max_bytes),
                secrets=(v.encode() for v in secret_values(self.env)))
        pipe = subprocess.PIPE if self.capture is not None else None
        previous = self._install_signals()
        try:
            self.proc = subprocess.Popen(self.argv, executable=self.exe, cwd=self.cwd,
                                         env=self.env, stdout=pipe, stderr=pipe)
        except OSError as err:
            self._restore_signals(previous)
            run._mark_failed(None, "failed")
            run._error = f"cannot start {self.argv[0]}: {err}"
            run.finish(exit_code=127)
            raise UsageError(f"cannot start {self.argv[0]}: {err}") from None
        run._monitor_pid = self.proc.pid
        self._start_monitor()
        try:
            threads = self._start_pumps()
            returncode = self._wait()
        finally:
            self._restore_signals(previous)
        for thread in threads:
            thread.join(timeout=2.0)  # a grandchild may keep the pipe open: do not hang
        return self._finish(returncode)

    # -- pieces ----------------------------------------------------------------
    def _capture_environment(self) -> None:
        try:
            info, diff = capture_for_command(self.settings, self.argv, self.exe, self.cwd,
                                             self.env)
            if diff:
                self.run._add_file_bytes(DIFF_FILE, diff)
                info.setdefault("git", {})["diff_file"] = DIFF_FILE
            self.run.set_environment(info)
        except Exception as err:  # noqa: BLE001 - capture must never break a run
            self.run.set_environment({"error": f"{type(err).__name__}: {err}"})

    def _start_monitor(self) -> None:
        if self.settings.disable_stats:
            return
        try:
            from .system.monitor import SystemMonitor
        except ImportError:
            return
        assert self.proc is not None
        monitor = SystemMonitor(self.run._log_system, interval=self.settings.stats_interval,
                                pid=self.proc.pid, cwd=str(self.cwd))
        self.run._monitors = [monitor]
        monitor.start()

    def _start_pumps(self) -> list[threading.Thread]:
        proc = self.proc
        assert proc is not None
        if self.capture is None:
            return []
        from .console import pump

        lock = threading.Lock()
        threads = []
        for source, stream, sink in ((proc.stdout, "stdout", sys.stdout),
                                     (proc.stderr, "stderr", sys.stderr)):
            out = getattr(sink, "buffer", None)
            thread = threading.Thread(target=pump, args=(source, stream, self.capture, out, lock),
                                      daemon=True, name=f"labtrack-console-{stream}")
            thread.start()
            threads.append(thread)
        live = threading.Thread(target=self._live_console, daemon=True,
                                name="labtrack-console-live")
        live.start()
        return threads

    def _live_console(self) -> None:
        """Re-save the console now and then while the command runs, so the UI can show it."""
        interval, seen = LIVE_FIRST, 0
        while not self._done.wait(interval):
            if self.capture.version != seen:
                seen = self.capture.version
                self.run._add_file_bytes(CONSOLE_FILE, self.capture.getvalue(last=LIVE_BYTES))
                self.run._writer.wake()
            interval = min(LIVE_MAX, interval * 1.5)

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for signum in FORWARDED:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue  # nohup, or a background job's SIGINT: the command ignores it too
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signals.append(signum)
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        if len(self.signals) >= 3:
            proc.kill()  # the third signal: no more waiting for a graceful exit
        elif signum == signal.SIGINT and len(self.signals) == 1 and _foreground_terminal():
            pass  # Ctrl-C in a terminal already reached the command (same process group)
        else:
            proc.send_signal(signum)

    def _wait(self) -> int:
        assert self.proc is not None
        if self.signals and self.proc.poll() is None:  # arrived while it was starting
            self.proc.send_signal(self.signals[-1])
        return self.proc.wait()

    def _finish(self, returncode: int) -> Launched:
        run = self.run
        self._done.set()
        tail = ""
        if self.capture is not None:
            self.capture.close()
            run._add_file_bytes(CONSOLE_FILE, self.capture.getvalue())
            tail = self.capture.tail("stderr")
        code = _shell_code(returncode)
        received = self.signals[0] if self.signals else None
        killed_by = -returncode if returncode < 0 else received
        if killed_by is not None:
            state = "killed"
            run._mark_failed(None, "killed")
            run._error = _killed_message(returncode, self.signals) + (
                f"; last lines of stderr:\n{tail}" if tail else "")
        elif returncode != 0:
            state = "failed"
            run._mark_failed(None, "failed")
            run._error = f"exited with code {returncode}" + (
                f"; last lines of stderr:\n{tail}" if tail else " (no stderr output)")
        else:
            state = "finished"
        run.finish(exit_code=code)
        if not self.settings.silent:
            print(f"labtrack: run {run.name} ({run.id}) {state}, exit code {code}",
                  file=sys.stderr)
        return Launched(run.id, state, code, killed_by)


def _killed_message(returncode: int, received: list[int]) -> str:
    if not received:
        return f"killed by {_signal_name(-returncode)}"
    text = f"stopped by {_signal_name(received[0])}"
    if len(received) >= 3 and returncode == -signal.SIGKILL:
        text += f"; killed with SIGKILL after {len(received)} signals"
    elif returncode >= 0:
        text += f"; the command exited with code {returncode}"
    return text


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _foreground_terminal() -> bool:
    """Whether this process runs in the foreground of a terminal (so Ctrl-C hit everyone)."""
    try:
        fd = sys.stdin.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


# -- environment capture of the command ------------------------------------------
def capture_for_command(settings: Settings, argv: Sequence[str], exe: str, cwd: Path,
                        env: Mapping[str, str]) -> tuple[dict[str, Any], bytes | None]:
    """What :func:`labtrack.capture.collect` records, for ``argv`` instead of this process.

    The git repository is looked up from the entry script's folder (the first
    ``.py`` argument), else ``cwd``; the packages are those of the command's
    Python interpreter when it is another one than this process's.
    """
    from .capture import collect
    from .capture.environment import relative_program
    from .capture.git import find_root
    from .capture.secrets import mask_argv, scrub, secret_values

    program = _entry_script(argv, exe, cwd)
    start = cwd
    if program is not None and find_root(Path(program).parent) is not None:
        start = Path(program).parent
    info, diff = collect(settings, path=start)
    command: dict[str, Any] = {
        "launcher": "labtrack run",
        "argv": mask_argv(argv),
        "program": program,
        "cwd": str(cwd),
        "executable": exe,
    }
    git = info.get("git") or {}
    if git.get("available"):
        command["program_relpath"] = relative_program(program, git.get("root"))
        command["cwd_relpath"] = relative_program(str(cwd), git.get("root"))
    python = _python_of(exe) if not (settings.disable_env) else None
    if python is not None:
        info["packages"] = python.pop("packages", info.get("packages"))
        command.update(python)
    info["command"] = command
    info = scrub(info, secret_values(env) | secret_values(os.environ))
    return info, diff


def _entry_script(argv: Sequence[str], exe: str, cwd: Path) -> str | None:
    """The script a command runs: its first existing ``*.py`` argument, or the program itself."""
    candidates = [a for a in argv[1:] if a.endswith(".py")]
    if not _is_python(exe):
        candidates.insert(0, exe)
    for candidate in candidates:
        path = Path(candidate) if os.path.isabs(candidate) else cwd / candidate
        if path.is_file():
            return str(path.resolve())
    return None


def _is_python(exe: str) -> bool:
    return _PYTHON_NAME.match(os.path.basename(exe).lower()) is not None


def _python_of(exe: str) -> dict[str, Any] | None:
    """Version and packages of the interpreter ``exe`` (None when it is not Python)."""
    if not _is_python(exe):
        return None
    if os.path.realpath(exe) == os.path.realpath(sys.executable):
        import platform

        return {"python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "virtualenv": sys.prefix if sys.prefix != sys.base_prefix else None}
    try:
        out = subprocess.run([exe, "-c", _PACKAGES_SCRIPT], capture_output=True, timeout=30,
                             check=True, stdin=subprocess.DEVNULL).stdout
        data = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return data if isinstance(data, dict) else None

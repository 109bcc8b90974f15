"""Running the wandb scripts of tests/compat/scripts each way in, in child processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtrack.compat import shim_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
LABTRACK_BIN = Path(sys.executable).with_name("labtrack")

#: the ways a wandb script reaches labtrack
ALIAS = "import labtrack as wandb"  # the script edited by one line
SHIM = "PYTHONPATH=shim_dir()"  # the script unchanged, the shim first on the path
CLI = "labtrack run --wandb"  # the script unchanged, through the real CLI

_IMPORT = re.compile(r"^import wandb$", re.MULTILINE)


@dataclass
class ScriptRun:
    """One run of a script: where its store is and what it printed."""

    script: str
    way: str
    store: Path
    cwd: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The JSON the script printed on its ``RESULT`` line."""
        for line in self.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])  # type: ignore[no-any-return]
        raise AssertionError(f"{self.script} ({self.way}) printed no RESULT line:\n"
                             f"{self.stdout}\n{self.stderr[-3000:]}")

    def check_ok(self) -> None:
        assert self.returncode == 0, (
            f"{self.script} failed {self.way} (exit {self.returncode}):\n{self.stderr[-4000:]}")

    def api(self) -> Any:
        import labtrack

        return labtrack.Api(dir=self.store)


def child_env(store: Path, pythonpath: list[str]) -> dict[str, str]:
    """A clean environment for a script: its own store, no wandb or labtrack settings leaking in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "LABTRACK_", "PYTHONPATH"))}
    env.update(
        LABTRACK_DIR=str(store), LABTRACK_SILENT="1", LABTRACK_DISABLE_STATS="1",
        LABTRACK_DISABLE_ENV="1", LABTRACK_DISABLE_GIT="1", LABTRACK_FLUSH_INTERVAL="0.05",
        PYTHONPATH=os.pathsep.join([*pythonpath, str(ROOT / "src")]),
        PYTHONFAULTHANDLER="1",
    )
    return env


def _start(script: str, way: str, base: Path, cli_project: str | None
           ) -> tuple[subprocess.Popen[str], Path, Path]:
    cwd = base / way.split()[0].replace("=", "_")
    cwd.mkdir(parents=True)
    store = cwd / "store"
    source = (SCRIPTS / script).read_text()
    if way == ALIAS:
        assert _IMPORT.search(source), f"{script} has no `import wandb` line"
        source = _IMPORT.sub("import labtrack as wandb", source)
    (cwd / script).write_text(source)
    if way == ALIAS:
        argv, path = [sys.executable, script], []
    elif way == SHIM:
        argv, path = [sys.executable, script], [shim_dir()]
    else:
        project = ["-p", cli_project] if cli_project else []
        argv = [str(LABTRACK_BIN), "run", "--wandb", *project, "--", sys.executable, script]
        path = []
    proc = subprocess.Popen(argv, cwd=cwd, env=child_env(store, path), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, store, cwd


def run_script(script: str, ways: tuple[str, ...], base: Path, timeout: float = 120,
               cli_project: str | None = None) -> dict[str, ScriptRun]:
    """Run ``script`` each way in at once (separate stores and folders); wait for all.

    ``cli_project`` is passed as ``labtrack run -p``.
    """
    started = {way: _start(script, way, base, cli_project) for way in ways}
    runs = {}
    for way, (proc, store, cwd) in started.items():
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += f"\n[killed after {timeout} s]"
        runs[way] = ScriptRun(script, way, store, cwd, proc.returncode, out, err)
    return runs

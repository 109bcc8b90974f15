"""Import MLflow runs: an ``mlruns`` folder or a tracking database (SQLite, PostgreSQL).

Read through MLflow's own client (``pip install mlflow``), so every backend MLflow
reads works. Mapping:

========================  ==================================================
MLflow                    labtrack
========================  ==================================================
experiment                project (``/`` in names becomes ``-``)
run name, user, times     run name, owner, created/finished times
status                    state (FINISHED finished, FAILED failed, KILLED
                          killed; RUNNING and SCHEDULED runs get no end, so
                          they show as crashed once their heartbeat is old)
params                    config (numbers, booleans and JSON lists/dicts are
                          parsed back from MLflow's strings)
metrics                   series, every point with its step and timestamp
tags                      ``key=value`` tags (``mlflow.*`` system tags are
                          kept in the environment); the note becomes notes;
                          a parent run becomes the group of its children
artifacts, logged models  run files (``models/<name>/...`` for models)
========================  ==================================================

Run ids are ``mlflow-<MLflow run id>``: importing again skips runs already there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import UsageError
from ._imported import ImportedRun, ImportReport, Progress, RunWriter, derive_run_id, write_runs

STATES = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_INT = re.compile(r"[-+]?\d+")


def parse_param(text: str) -> Any:
    """An MLflow param string back to the value it was logged as, where that is certain."""
    if _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text == "None":
        return None
    if text[:1] in "[{":
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


def tracking_uri(source: str) -> str:
    """A tracking URI from a path (mlruns folder, SQLite file) or a URI.

    Raises:
        UsageError: the path does not exist or is neither a folder nor an SQLite file.
    """
    if "://" in source:
        if source.startswith("sqlite:///"):
            db = Path(source[len("sqlite:///"):])
            if not db.is_file():  # MLflow would create an empty database there
                raise UsageError(f"no MLflow database at {db}")
        return _postgres_driver(source)
    path = Path(source).expanduser().resolve()
    if path.is_file():
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise UsageError(f"{path} is not an MLflow SQLite database nor an mlruns folder")
        return f"sqlite:///{path}"
    if path.is_dir():
        if (path / "mlruns").is_dir() and not (path / "0").is_dir():
            path = path / "mlruns"
        return path.as_uri()
    raise UsageError(f"{source} does not exist (give an mlruns folder, an MLflow SQLite file "
                     "or a tracking URI such as postgresql://user@host/db)")


def _postgres_driver(uri: str) -> str:
    """postgresql:// with the psycopg (3) driver when psycopg2 is not installed."""
    scheme, sep, rest = uri.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return uri
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
        return f"postgresql+psycopg{sep}{rest}"
    return uri


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 refuses file stores unless told to; importing only reads them."""
    if not uri.startswith("file:"):
        yield
        return
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old


def _client(uri: str) -> Any:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise UsageError("importing from MLflow needs mlflow: pip install mlflow") from None
    return MlflowClient(tracking_uri=uri)


def _paged(call: Any, **kwargs: Any) -> Iterator[Any]:
    token = None
    while True:
        page = call(page_token=token, **kwargs)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def project_name(experiment: str) -> str:
    """A labtrack project name from an MLflow experiment name."""
    return experiment.strip("/").replace("/", "-") or "Default"


def import_mlflow(
    source: str,
    store_dir: str | Path | None = None,
    *,
    project: str | None = None,
    experiments: Sequence[str] | None = None,
    artifacts: bool = True,
    include_deleted: bool = False,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every run of an MLflow tracking store into a labtrack store.

    Args:
        source: an mlruns folder, an MLflow SQLite file or a tracking URI.
        store_dir: the labtrack store (default ``LABTRACK_DIR``).
        project: put every run in this project instead of one per experiment.
        experiments: only experiments with these names (or ids).
        artifacts: copy run artifacts and logged models as run files.
        include_deleted: also import deleted experiments and runs.
        replace: re-import runs that are already in the store.
        progress: called as ``progress(done, total, label)``.
    Raises:
        UsageError: the source does not exist or mlflow is not installed.
    """
    uri = tracking_uri(source)
    report = ImportReport()
    with _file_store_allowed(uri):
        from mlflow.entities import ViewType

        client = _client(uri)
        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        exps = [e for e in _paged(client.search_experiments, view_type=view)
                if not experiments or e.name in experiments or e.experiment_id in experiments]
        jobs = []
        for exp in exps:
            for run in _paged(client.search_runs, experiment_ids=[exp.experiment_id],
                              run_view_type=view, max_results=1000):
                jobs.append((exp, run))
        with RunWriter(store_dir, replace=replace) as writer:
            loaders = (
                (f"{exp.name}/{run.info.run_name or run.info.run_id}",
                 derive_run_id("mlflow", run.info.run_id, run.info.run_id),
                 _loader(client, uri, exp, run, project, artifacts))
                for exp, run in jobs
            )
            write_runs(loaders, writer, report, progress, total=len(jobs))
    return report


def _loader(client: Any, uri: str, exp: Any, run: Any, project: str | None,
            artifacts: bool) -> Any:
    return lambda: _read_run(client, uri, exp, run, project, artifacts)


def _read_run(client: Any, uri: str, exp: Any, run: Any, project: str | None,
              artifacts: bool) -> ImportedRun:
    info, data = run.info, run.data
    tags = dict(data.tags)
    out = ImportedRun(
        run_id=derive_run_id("mlflow", info.run_id, info.run_id),
        project=project or project_name(exp.name),
        name=info.run_name or tags.get("mlflow.runName") or info.run_id,
        config={k: parse_param(v) for k, v in data.params.items()},
        tags=[f"{k}={v}" if v else k for k, v in sorted(tags.items())
              if not k.startswith("mlflow.")],
        notes=tags.get("mlflow.note.content"),
        owner=info.user_id or tags.get("mlflow.user"),
        created_at=info.start_time / 1000.0 if info.start_time else None,
        finished_at=info.end_time / 1000.0 if info.end_time else None,
        state=STATES.get(info.status),
    )
    parent = tags.get("mlflow.parentRunId")
    if parent:
        out.group = derive_run_id("mlflow", parent, parent)
    out.environment = _environment(uri, exp, info, tags)
    for key in sorted(data.metrics):
        history = sorted(client.get_metric_history(info.run_id, key),
                         key=lambda m: (m.step, m.timestamp))
        for m in history:
            out.add_point(key, m.step, m.value, m.timestamp / 1000.0)
    if artifacts:
        _add_artifacts(client, out, info)
        _add_logged_models(client, out, info)
    return out


def _environment(uri: str, exp: Any, info: Any, tags: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "imported_from": {
            "source": "mlflow", "uri": _safe_uri(uri), "run_id": info.run_id,
            "experiment_id": exp.experiment_id, "experiment": exp.name,
            "artifact_uri": info.artifact_uri,
        },
        "mlflow_tags": tags,
    }
    commit = tags.get("mlflow.source.git.commit")
    if commit:
        env["git"] = {"available": True, "commit": commit,
                      "branch": tags.get("mlflow.source.git.branch"),
                      "remote": tags.get("mlflow.source.git.repoURL")}
    if tags.get("mlflow.source.name"):
        env["command"] = {"program": tags["mlflow.source.name"]}
    return env


def _safe_uri(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.password:
        return uri.replace(f":{parsed.password}@", ":***@")
    return uri


def _local_dir(artifact_uri: str | None) -> Path | None:
    """The local folder of an artifact URI, or None when it is remote."""
    if not artifact_uri:
        return None
    parsed = urlparse(artifact_uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(artifact_uri)
    return None


def _add_tree(out: ImportedRun, root: Path, prefix: str) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out.add_file(prefix + path.relative_to(root).as_posix(), path)


def _add_artifacts(client: Any, out: ImportedRun, info: Any) -> None:
    local = _local_dir(info.artifact_uri)
    if local is not None:
        if local.is_dir():
            _add_tree(out, local, "")
        return
    if not client.list_artifacts(info.run_id):
        return
    temp = Path(tempfile.mkdtemp(prefix="labtrack-mlflow-"))
    out.temp_dirs.append(temp)
    try:
        client.download_artifacts(info.run_id, "", str(temp))
    except Exception:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _add_tree(out, temp, "")


def _add_logged_models(client: Any, out: ImportedRun, info: Any) -> None:
    """MLflow 3 keeps models logged by a run outside the run's artifacts."""
    search = getattr(client, "search_logged_models", None)
    if search is None:
        return
    try:
        models = list(_paged(search, experiment_ids=[info.experiment_id]))
    except Exception:  # noqa: BLE001 - stores without logged models (MLflow 2 schemas)
        return
    for model in models:
        if getattr(model, "source_run_id", None) != info.run_id:
            continue
        local = _local_dir(getattr(model, "artifact_location", None))
        prefix = f"models/{model.name}/"
        if local is not None and local.is_dir():
            _add_tree(out, local, prefix)
        elif local is None:
            import mlflow.artifacts

            temp = Path(tempfile.mkdtemp(prefix="labtrack-mlflow-"))
            out.temp_dirs.append(temp)
            mlflow.artifacts.download_artifacts(artifact_uri=model.artifact_location,
                                                dst_path=str(temp))
            _add_tree(out, temp, prefix)

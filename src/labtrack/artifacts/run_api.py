"""Run methods for artifacts (``run.log_artifact`` ...), attached lazily by ``_extensions``.

Each function takes the run as its first argument. Artifacts are indexed in the
run's store directory right away (in one transaction per version), not through
the run log, so a version is visible to other processes as soon as the call returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..settings import Settings
from . import _names
from ._backend import Backend
from .artifact import Artifact


def _backend(run: Any) -> Backend:
    return Backend.for_dir(run.settings.dir)


def _run_id(run: Any) -> str | None:
    return getattr(run, "id", None)


def _from_path(path: str | os.PathLike[str], name: str | None, type: str) -> Artifact:
    text = os.fspath(path)
    if "://" in text:
        base = text.rstrip("/").rsplit("/", 1)[-1]
        art = Artifact(_default_name(name or base), type)
        art.add_reference(text)
        return art
    if not os.path.exists(text):
        raise UsageError(f"{text} does not exist")
    art = Artifact(_default_name(name or os.path.basename(os.path.abspath(text))), type)
    if os.path.isdir(text):
        art.add_dir(text)
    else:
        art.add_file(text)
    return art


def _default_name(name: str) -> str:
    """A valid artifact name from a file name ("my data.csv" -> "my_data.csv")."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".-")
    return _names.check_name(cleaned[:128] or "artifact")


def log_artifact(run: Any, artifact_or_path: Artifact | str | os.PathLike[str],
                 name: str | None = None, type: str | None = None,
                 aliases: list[str] | None = None, tags: list[str] | None = None,
                 **kwargs: Any) -> Artifact:
    """Log an artifact (or a file/folder path) as a new version of its name in the run's project.

    Identical content returns the existing version; "latest" and ``aliases`` move to it.

    Raises:
        ArtifactError: a file is missing, unreadable or changed while being read.
        UsageError: an invalid name or alias, or the name exists with another type.
    """
    if isinstance(artifact_or_path, Artifact):
        art = artifact_or_path
    else:
        art = _from_path(artifact_or_path, name, type or "unspecified")
    art._log(_backend(run), run.project, _run_id(run), aliases)
    _record_event(run, "logged", art)
    return art


def use_artifact(run: Any, artifact_or_name: Artifact | str, type: str | None = None,
                 aliases: list[str] | None = None, use_as: str | None = None,
                 **kwargs: Any) -> Artifact:
    """Record that the run uses a version and return it (call ``.download()`` for files).

    Args:
        artifact_or_name: "name" (latest), "name:v3", "name:alias", "project/name:v3",
            or an Artifact (one not logged yet is logged first, without a producer).
        type: when given, the artifact must have this type.
    Raises:
        NotFoundError: no such artifact, version or alias.
    """
    backend = _backend(run)
    if isinstance(artifact_or_name, Artifact):
        art = artifact_or_name
        if art.id is None:
            art._log(backend, run.project, None, aliases)
    else:
        info = backend.index.resolve(artifact_or_name, project=run.project, type=type)
        art = Artifact._from_version(backend, info)
    assert art.id is not None
    (art._backend or backend).index.record_use(art.id, run.id)
    _record_event(run, "used", art)
    return art


def use_dataset(run: Any, path: str | os.PathLike[str], name: str | None = None) -> Artifact:
    """Record the dataset at ``path`` (file, folder, file:// or s3:// uri) as used by the run.

    The content is logged as a version of the "dataset" artifact ``name`` (default:
    the base name), deduplicated, and the run is recorded as its consumer.
    """
    art = _from_path(path, name, "dataset")
    art._log(_backend(run), run.project, None, None)
    _backend(run).index.record_use(art.id, run.id)
    _record_event(run, "used", art)
    return art


def log_model(run: Any, path: str | os.PathLike[str], name: str | None = None,
              aliases: list[str] | None = None) -> Artifact:
    """Log a model file or folder as a version of the "model" artifact ``name``."""
    art = _from_path(path, name, "model")
    return art._log(_backend(run), run.project, _run_id(run), aliases)


def use_model(run: Any, name: str) -> str:
    """Use a model version ("name:production") and return the local path of its files."""
    art = use_artifact(run, name, type="model")
    entries = art.manifest
    if len(entries) == 1:
        return art.file()
    return art.download()


def link_artifact(run: Any, artifact: Artifact, target_path: str,
                  aliases: list[str] | None = None) -> Artifact:
    """Link a logged version into another collection ("[project/]name", e.g. a registry).

    The target gets a version with the same files (no copy: blobs are shared) and
    the aliases. Returns the linked version.
    """
    if artifact.id is None:
        log_artifact(run, artifact)
    parts = target_path.split("/")
    project = parts[-2] if len(parts) >= 2 and parts[-2] else run.project
    target = Artifact(_names.check_name(parts[-1]), artifact.type, artifact.description,
                      artifact.metadata)
    backend = _backend(run)
    from ._transfer import manifest_digest

    entries = [dict(e) for e in artifact.manifest]
    info = backend.commit(project, target.collection_name, target.type, entries,
                          manifest_digest(entries), description=target.description,
                          metadata=target.metadata, aliases=aliases or [],
                          run_id=_run_id(run))
    target._bind(backend, info)
    return target


def log_without_run(artifact: Artifact, project: str | None = None,
                    aliases: list[str] | None = None,
                    dir: str | Path | None = None) -> Artifact:
    """Log an artifact with no producing run (``labtrack artifact put``, ``Artifact.save``)."""
    settings = Settings()
    backend = Backend.for_dir(dir if dir is not None else settings.dir)
    return artifact._log(backend, project or settings.project, None, aliases)


def _record_event(run: Any, kind: str, art: Artifact) -> None:
    """Put the artifact event in the run log too, so `labtrack sync --rebuild` restores
    versions, aliases and lineage (the log is the truth)."""
    add = getattr(run, "_add_event", None)
    if add is None or art._info is None:
        return
    info = art._info
    event: dict[str, Any] = {"kind": kind, "project": info.get("project"),
                             "name": art._name, "digest": info.get("digest")}
    committed = getattr(art, "_committed", None)
    ready = None
    if kind == "logged" and committed is not None:
        event.update(committed)
        event["kind"] = kind
        entries = event.pop("entries")
        if event.pop("created", True):
            # the manifest is ours (str, int, None): no conversion pass over its entries
            ready = {"entries": entries}
        # else: the same content again; the event that made the version holds its manifest
        # (a rebuild finds the version by digest: sync.replay_artifact_events)
    # a long manifest (1 MB of JSON for 10,000 files) is written now
    add("artifact_events", event, ready, now=ready is not None and len(ready["entries"]) > 100)

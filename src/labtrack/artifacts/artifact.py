"""``labtrack.Artifact``: a versioned set of files (a dataset, a model, anything).

Build one, add files, and log it from a run::

    art = labtrack.Artifact("mnist", type="dataset", metadata={"rows": 70000})
    art.add_dir("data/mnist")
    run.log_artifact(art, aliases=["best"])      # v0, v1 ... only when content changed

    art = run.use_artifact("mnist:latest")        # records the run as a consumer
    path = art.download()                         # verified, cached, hard-linked

Files are read when the artifact is logged, not when they are added.
"""

from __future__ import annotations

import contextlib
import operator
import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, overload

from .._jsonsafe import to_jsonable
from ..errors import ArtifactError, UsageError
from . import _names
from ._backend import Backend, progress
from ._nogc import no_gc


class _Entries(Sequence["ArtifactEntry"]):
    """The entries ``add_dir`` added, each made into an :class:`ArtifactEntry` on access."""

    __slots__ = ("_artifact", "_data")

    def __init__(self, artifact: Artifact, data: list[dict[str, Any]]) -> None:
        self._artifact = artifact
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    @overload
    def __getitem__(self, index: int) -> ArtifactEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[ArtifactEntry]: ...

    def __getitem__(self, index: int | slice) -> ArtifactEntry | list[ArtifactEntry]:
        if isinstance(index, slice):
            return [ArtifactEntry(self._artifact, d) for d in self._data[index]]
        return ArtifactEntry(self._artifact, self._data[index])

    def __repr__(self) -> str:
        return f"<{len(self)} artifact entries>"


class ArtifactEntry:
    """One file of an artifact: ``path`` inside it, ``digest``, ``size``, ``ref`` (uri)."""

    __slots__ = ("_artifact", "_data", "digest", "local_path", "path", "ref")

    def __init__(self, artifact: Artifact, data: dict[str, Any]) -> None:
        self._artifact = artifact
        self._data = data
        self.path: str = data["path"]
        self.digest: str | None = data.get("digest")
        self.ref: str | None = data.get("ref")
        self.local_path: str | None = data.get("local")

    @property
    def name(self) -> str:
        return self.path

    @property
    def size(self) -> int | None:
        """Bytes (of a file added by ``add_dir`` and not logged yet: its size now)."""
        return _entry_size(self._data)

    def ref_target(self) -> str | None:
        """The uri of a reference entry (None for stored files)."""
        return self.ref

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Fetch this one file (verified); returns its local path."""
        return self._artifact._download_entries([self.path], root)

    def __repr__(self) -> str:
        return f"<ArtifactEntry {self.path} {self.size} bytes>"


class Artifact:
    """A versioned collection of files, logged by runs and used by runs.

    Args:
        name: 1-128 letters, digits, '-', '_', '.'; unique per project.
        type: e.g. "dataset", "model"; same rules.
        description: free text.
        metadata: JSON-able dict shown with the version.
    """

    def __init__(self, name: str, type: str, description: str | None = None,
                 metadata: dict[str, Any] | None = None, incremental: bool = False,
                 use_as: str | None = None, **kwargs: Any) -> None:
        self._name = _names.check_name(name)
        self._type = _names.check_name(type, "artifact type")
        self.description = description
        self._metadata: dict[str, Any] = self._check_metadata(metadata)
        self._pending: dict[str, dict[str, Any]] = {}
        self._aliases: list[str] = []
        self._info: dict[str, Any] | None = None
        self._entries: list[dict[str, Any]] | None = None
        self._backend: Backend | None = None
        self._tmpdir: str | None = None

    @staticmethod
    def _check_metadata(metadata: Any) -> dict[str, Any]:
        if metadata is None:
            return {}
        if not isinstance(metadata, dict):
            raise UsageError(f"metadata must be a dict, not {type(metadata).__name__}")
        return dict(to_jsonable(metadata))

    @classmethod
    def _from_version(cls, backend: Backend, info: dict[str, Any]) -> Artifact:
        art = cls(info["name"], info["type"], info.get("description"), info.get("metadata"))
        art._bind(backend, info)
        return art

    def _bind(self, backend: Backend, info: dict[str, Any]) -> None:
        self._backend = backend
        self._info = {k: v for k, v in info.items() if k != "created"}
        self._metadata = dict(info.get("metadata") or {})
        self.description = info.get("description")
        self._aliases = [a for a in info.get("aliases", []) if a != "latest"]
        self._entries = None
        self._pending = {}
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    # -- identity ------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``name`` before logging, ``name:vN`` once logged (as in wandb)."""
        return f"{self._name}:v{self._info['version']}" if self._info else self._name

    @property
    def source_name(self) -> str:
        return self.name

    @property
    def collection_name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def project(self) -> str | None:
        return self._info["project"] if self._info else None

    @property
    def qualified_name(self) -> str:
        return f"{self.project}/{self.name}" if self._info else self._name

    @property
    def id(self) -> int | None:
        return self._info["id"] if self._info else None

    @property
    def version(self) -> str | None:
        """"v3" once logged, else None."""
        return f"v{self._info['version']}" if self._info else None

    @property
    def digest(self) -> str | None:
        """The content digest of the version (sha256 over its manifest)."""
        if self._info:
            return str(self._info["digest"])
        return None

    @property
    def state(self) -> str:
        return "COMMITTED" if self._info else "PENDING"

    @property
    def size(self) -> int:
        if self._info:
            return int(self._info["size"])
        return sum(_entry_size(e) or 0 for e in self._pending.values())

    @property
    def file_count(self) -> int:
        return int(self._info["file_count"]) if self._info else len(self._pending)

    @property
    def created_at(self) -> float | None:
        return self._info["created_at"] if self._info else None

    @property
    def metadata(self) -> dict[str, Any]:
        """JSON-able metadata; edit it, then :meth:`save` a logged artifact."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = self._check_metadata(value)

    @property
    def aliases(self) -> list[str]:
        """User aliases ("latest" is managed by labtrack); edit, then :meth:`save`."""
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._aliases = [_names.check_alias(a) for a in value if a != "latest"]

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self._type}>"

    def to_dict(self) -> dict[str, Any]:
        """The logged version as stored: id, project, name, type, version (int), digest,
        size, file_count, description, metadata, created_at, created_by, aliases
        (including "latest" when it points here)."""
        self._logged()
        assert self._info is not None
        return dict(self._info)

    # -- building ------------------------------------------------------------------
    def _mutable(self) -> None:
        if self._info is not None:
            raise UsageError(f"artifact {self.qualified_name} is logged and cannot change; "
                             f"make a new labtrack.Artifact({self._name!r}, "
                             f"{self._type!r}) to log a new version")

    def _put(self, entry: dict[str, Any], overwrite: bool) -> ArtifactEntry:
        old = self._pending.get(entry["path"])
        if old is not None and not overwrite and (old.get("local"), old.get("ref")) != (
                entry.get("local"), entry.get("ref")):
            raise UsageError(f"artifact {self._name} already has an entry {entry['path']!r}; "
                             "pass overwrite=True to replace it")
        self._pending[entry["path"]] = entry
        return ArtifactEntry(self, entry)

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None,
                 is_tmp: bool = False, skip_cache: bool = False, policy: str = "immutable",
                 overwrite: bool = False) -> ArtifactEntry:
        """Add one file, as ``name`` (default: its base name). It is read at log time.

        Raises:
            ArtifactError: the file does not exist, is a directory or is unreadable.
        """
        self._mutable()
        path = os.fspath(local_path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ArtifactError(f"add_file: {path} does not exist") from None
        except OSError as err:
            raise ArtifactError(f"add_file: cannot access {path}: {err.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise ArtifactError(f"add_file: {path} is a directory; use add_dir()")
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"add_file: {path} is not a regular file")
        if not os.access(path, os.R_OK):
            raise ArtifactError(f"add_file: {path} is not readable (permission denied)")
        entry_name = _names.check_entry_path(name if name is not None
                                             else os.path.basename(path))
        return self._put({"path": entry_name, "local": path, "size": st.st_size}, overwrite)

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None,
                skip_cache: bool = False, policy: str = "immutable",
                merge: bool = False) -> Sequence[ArtifactEntry]:
        """Add every file under a directory, under ``name/`` (default: at the root).

        The folders are listed now; the files are stat'ed and read when the artifact
        is logged (a symbolic link to a file counts as that file; links to folders
        are not followed). Returns the entries added, in listing order (made as they
        are looked at: a folder of 10,000 files does not cost 10,000 objects).

        Raises:
            ArtifactError: the directory does not exist or cannot be listed, or holds
                something other than regular files and folders (a pipe, socket, device
                or broken link).
        """
        self._mutable()
        root = os.fspath(local_path)
        if not os.path.isdir(root):
            raise ArtifactError(f"add_dir: {root} is not a directory")
        prefix = _names.check_entry_path(name) + "/" if name else ""
        added: list[dict[str, Any]] = []
        pending = self._pending
        with no_gc():
            for rel, full in _files_under(os.path.abspath(root)):
                entry_path = prefix + rel
                if "\\" in entry_path:  # check_entry_path reads a backslash as a separator
                    entry_path = _names.check_entry_path(entry_path)
                entry: dict[str, Any] = {"path": entry_path, "local": full, "size": None}
                pending[entry_path] = entry
                added.append(entry)
        return _Entries(self, added)

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True,
                      max_objects: int | None = None) -> list[ArtifactEntry]:
        """Record files by uri without copying them (``file://`` and ``s3://``).

        ``checksum`` stores the sha256 of local files (the ETag of S3 objects), checked
        again on download. A directory or S3 prefix adds one entry per file.
        """
        self._mutable()
        from .references import expand

        backend = self._backend or Backend.for_dir(_default_dir())
        entries = expand(backend, uri, name, checksum, max_objects)
        return [self._put(e, overwrite=True) for e in entries]

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x",
                 encoding: str | None = None) -> Iterator[IO[Any]]:
        """Write a new file straight into the artifact: ``with art.new_file("a.txt") as f:``."""
        self._mutable()
        entry_name = _names.check_entry_path(name)
        if entry_name in self._pending:
            raise UsageError(f"artifact {self._name} already has an entry {entry_name!r}")
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="labtrack-artifact-")
            # an artifact dropped without being logged still cleans up after itself
            weakref.finalize(self, shutil.rmtree, self._tmpdir, True)
        path = os.path.join(self._tmpdir, *entry_name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(path, mode, encoding=encoding) as fh:
            yield fh
        self.add_file(path, entry_name)

    def add(self, obj: Any, name: str) -> ArtifactEntry:
        """Not supported: save the object to a file and use :meth:`add_file`."""
        raise UsageError("labtrack artifacts hold files: write the object to a file (e.g. "
                         "table.get_dataframe().to_csv(...)) and use add_file()")

    def remove(self, item: str | ArtifactEntry) -> None:
        """Remove an entry (or every entry under a folder) before logging."""
        self._mutable()
        path = item.path if isinstance(item, ArtifactEntry) else _names.check_entry_path(item)
        gone = [p for p in self._pending if p == path or p.startswith(path + "/")]
        if not gone:
            raise UsageError(f"artifact {self._name} has no entry {path!r}")
        for p in gone:
            del self._pending[p]

    # -- reading -------------------------------------------------------------------
    def _manifest(self) -> list[dict[str, Any]]:
        if self._info is None:
            return sorted(self._pending.values(), key=lambda e: e["path"])
        if self._entries is None:
            assert self._backend is not None
            self._entries = self._backend.index.files(self._info["id"])
        return self._entries

    def files(self) -> list[ArtifactEntry]:
        """Every entry, sorted by path."""
        return [ArtifactEntry(self, e) for e in self._manifest()]

    @property
    def manifest(self) -> list[dict[str, Any]]:
        """The entries as dicts: ``{"path", "digest", "size", "ref"}``."""
        if self._info is None:
            return [dict(e, size=_entry_size(e)) for e in self._manifest()]
        return [dict(e) for e in self._manifest()]

    def get_entry(self, name: str) -> ArtifactEntry:
        """The entry named ``name``.

        Raises:
            KeyError (NotFoundError): no such entry.
        """
        from ..errors import NotFoundError

        path = _names.check_entry_path(name)
        for entry in self._manifest():
            if entry["path"] == path:
                return ArtifactEntry(self, entry)
        raise NotFoundError(f"artifact {self.qualified_name} has no file {name!r}")

    get_path = get_entry

    def _logged(self) -> Backend:
        if self._info is None or self._backend is None:
            raise UsageError(f"artifact {self._name} is not logged yet: log it with "
                             "run.log_artifact() or fetch one with run.use_artifact()")
        return self._backend

    def _root(self, root: str | os.PathLike[str] | None) -> Path:
        backend = self._logged()
        assert self._info is not None
        if root is not None:
            return Path(root).expanduser()
        return backend.default_root(self._info["project"], self._name, self._info["version"])

    def _download_entries(self, paths: list[str] | None,
                          root: str | os.PathLike[str] | None) -> str:
        from ._transfer import materialize

        backend = self._logged()
        target = self._root(root)
        entries = self._manifest()
        if paths is not None:
            wanted = set(paths)
            entries = [e for e in entries if e["path"] in wanted]
        total = sum(int(e["size"]) for e in entries)
        with progress(total, f"downloading {self.qualified_name}") as advance:
            fetch = getattr(backend.index, "fetch_blobs", None)  # team server: blobs first
            if fetch is not None:
                fetch(self.id, entries)
            materialize(backend, entries, target, self.qualified_name, advance)
        if paths is not None and len(paths) == 1:
            return str(target.joinpath(*paths[0].split("/")))
        return str(target)

    def download(self, root: str | os.PathLike[str] | None = None,
                 allow_missing_references: bool = False, skip_cache: bool | None = None,
                 path_prefix: str | None = None, **kwargs: Any) -> str:
        """Fetch the files (digests verified) into ``root``; returns the folder.

        Default root: ``<store dir>/artifacts-cache/<project>/<name>/vN``. Files are
        hard links to the stored blobs where possible (read-only: copy a file before
        editing it). A folder already holding the version is checked in milliseconds.

        Raises:
            ArtifactError: a file is missing or its content no longer matches its digest.
        """
        paths = None
        if path_prefix:
            paths = [e["path"] for e in self._manifest() if e["path"].startswith(path_prefix)]
        return self._download_entries(paths, root)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download into ``root`` and delete files there that are not in the artifact."""
        folder = Path(self.download(root))
        keep = {folder.joinpath(*e["path"].split("/")) for e in self._manifest()}
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return str(folder)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Check that ``root`` holds exactly this version's content.

        Raises:
            ArtifactError: a file is missing, extra, or differs (named in the message).
        """
        from ..blobs import LocalBlobStore

        folder = self._root(root)
        for entry in self._manifest():
            path = folder.joinpath(*entry["path"].split("/"))
            if not path.is_file():
                raise ArtifactError(f"{self.qualified_name}: {entry['path']!r} is missing "
                                    f"from {folder}")
            if entry.get("ref"):
                continue
            if LocalBlobStore.hash_file(path) != entry["digest"]:
                raise ArtifactError(f"{self.qualified_name}: {entry['path']!r} in {folder} "
                                    "differs from the logged content")

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download an artifact of exactly one file; returns that file's path."""
        entries = self._manifest()
        if len(entries) != 1:
            raise UsageError(f"artifact {self.qualified_name} has {len(entries)} files; "
                             "file() needs exactly one (use download())")
        return self._download_entries([entries[0]["path"]], root)

    # -- edits of a logged version --------------------------------------------------
    def save(self) -> Artifact:
        """Save edits of a logged artifact (aliases, metadata, description).

        An artifact not logged yet is logged by the active run, or without a run.
        """
        if self._info is None:
            from .. import _current
            from .run_api import log_artifact, log_without_run

            run = _current.get()
            if run is not None:
                return log_artifact(run, self, aliases=self._aliases)
            return log_without_run(self, aliases=self._aliases)
        backend = self._logged()
        info = backend.index.update(self._info["id"], aliases=self._aliases,
                                    metadata=self._metadata, description=self.description)
        self._info = info
        return self

    def wait(self, timeout: float | None = None) -> Artifact:
        """Logging is synchronous; returns self (wandb compatibility)."""
        return self

    def logged_by(self) -> str | None:
        """The id of the run that logged this version (None if logged without a run)."""
        backend = self._logged()
        assert self._info is not None
        edges = backend.index.edges(version_ids=[self._info["id"]])
        runs = [e["run_id"] for e in edges if e["direction"] == "logged"]
        return runs[0] if runs else self._info.get("created_by")

    def used_by(self) -> list[str]:
        """Ids of the runs that used this version."""
        backend = self._logged()
        assert self._info is not None
        return [e["run_id"] for e in backend.index.edges(version_ids=[self._info["id"]])
                if e["direction"] == "used"]

    def delete(self, delete_aliases: bool = False, force: bool = False) -> None:
        """Delete this version (refused while runs use it unless ``force``)."""
        backend = self._logged()
        assert self._info is not None
        backend.index.delete_version(self._info["id"], force=force)
        self._info = None

    # -- logging (called by run_api) ----------------------------------------------------
    def _log(self, backend: Backend, project: str, run_id: str | None,
             aliases: list[str] | None) -> Artifact:
        from ._errors import MissingBlobsError
        from ._transfer import manifest_digest, store_files

        wanted = [_names.check_alias(a) for a in (aliases or []) if a != "latest"]
        if self._info is not None:
            entries = [dict(e) for e in self._manifest()]
        else:
            entries = self._stage(backend)
        with no_gc():  # the manifest rows: thousands of small objects, briefly
            digest = manifest_digest(entries)
            for attempt in range(2):
                try:
                    info = backend.commit(
                        project, self._name, self._type, entries, digest,
                        description=self.description, metadata=self._metadata,
                        aliases=wanted, run_id=run_id)
                    break
                except MissingBlobsError:  # freed by a concurrent delete, or by hand
                    if attempt or self._info is not None:
                        raise
                    local = [(e["path"], self._pending[e["path"]]["local"]) for e in entries
                             if not e.get("ref")]
                    store_files(backend, local)  # checks cached digests' blobs this time
        self._bind(backend, info)
        self._committed = {"project": project, "name": self._name, "type": self._type,
                           "digest": digest, "entries": entries,
                           "description": self.description, "metadata": self._metadata,
                           "aliases": wanted, "version": info.get("version"),
                           "created": bool(info.get("created", True))}
        return self

    def _stage(self, backend: Backend) -> list[dict[str, Any]]:
        """Store the pending local files; returns the manifest entries."""
        from ._transfer import EarlyWorker, stat_files, store_files

        with no_gc():
            pending = sorted(self._pending.items())
            local = [(p, e["local"]) for p, e in pending if e.get("local")]
            early = EarlyWorker.start(backend, local)  # a first log of thousands of files
            mine = local if early is None else local[:early.cut]
            stats = stat_files(mine)  # once, now: the files are logged as they are now
        total = sum(key[0] for key in stats if key is not None)
        if early is not None:  # the worker's files are stat'ed by it: as many of the same size
            total += total * early.count // max(1, len(mine))
        try:
            with progress(total, f"logging {self._name}") as advance:
                # the commit checks the blobs of a new version; an existing one holds its own
                stored = store_files(backend, mine, advance, stats=stats, check_cached=False,
                                     worker=early is None)
                if early is not None:
                    stored.update(early.collect(backend, advance))
        except BaseException:
            if early is not None:
                early.abandon()
            raise
        with no_gc():
            return [{"path": path, "digest": stored[path][0], "size": stored[path][1],
                     "ref": None} if e.get("local") else
                    {"path": path, "digest": e.get("digest"), "size": int(e["size"]),
                     "ref": e["ref"]} for path, e in pending]


def _entry_size(entry: dict[str, Any]) -> int | None:
    """An entry's size; a file added by ``add_dir`` (not stat'ed then) is stat'ed now."""
    size = entry.get("size")
    if size is None and entry.get("local"):
        try:
            return os.stat(entry["local"]).st_size
        except OSError:
            return None
    return size


def _files_under(root: str) -> Iterator[tuple[str, str]]:
    """``(relative path with '/', full path)`` of every file under ``root``, in
    ``os.walk`` order (top-down, names sorted), listed with ``scandir``: a regular
    file costs no ``stat`` (its directory entry says what it is).

    Raises:
        ArtifactError: a folder cannot be listed, or an entry is neither a regular
            file nor a folder (nor a link to one).
    """
    stack = [(root if root.endswith(os.sep) else root + os.sep, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            with os.scandir(folder) as listing:
                found = sorted(listing, key=_BY_NAME)
        except OSError as err:
            raise ArtifactError(f"add_dir: cannot list {err.filename or folder}: "
                                f"{err.strerror}") from None
        folders = []
        for item in found:
            name = item.name
            try:
                is_file = item.is_file()  # follows links: a link to a file is that file
                is_dir = not is_file and item.is_dir()
            except OSError:
                is_file = is_dir = False
            if is_file:
                yield rel + name, folder + name
            elif is_dir:
                if not item.is_symlink():  # as os.walk: links to folders are not followed
                    folders.append((folder + name + os.sep, rel + name + "/"))
            else:
                full = folder + name
                try:
                    os.stat(full)
                except OSError as err:
                    raise ArtifactError(f"add_dir: cannot access {full}: {err.strerror}") \
                        from None
                raise ArtifactError(f"add_dir: {full} is not a regular file (a pipe, "
                                    "socket or device); remove it or add files one by one")
        stack.extend(reversed(folders))


_BY_NAME = operator.attrgetter("name")  # a C-level sort key (10,000 files: ~10 ms less)


def _default_dir() -> Path:
    from .. import _current
    from ..settings import Settings

    run = _current.get()
    if run is not None and hasattr(run, "settings"):
        return Path(run.settings.dir)
    return Settings().dir

"""Artifacts through a team server: :class:`RemoteArtifactIndex`.

The same methods as :class:`~labtrack.artifacts.index.ArtifactIndex`, each one
call of ``/api/v1/remote/artifacts`` (run server-side in one transaction). Files
still go through the local blob store of the machine (``LABTRACK_DIR/blobs``):
logging stores them there, then :meth:`commit` uploads the blobs the server lacks
(content-addressed; big ones in resumable parts) before committing the version;
downloading fetches the blobs this machine lacks, checks their digests and places
them in the local blob store (small ones in its database), from which they are
linked or copied as usual.

:func:`remote_index` picks it: for an ``Api`` on a server URL, or when
``LABTRACK_URL`` (or ``labtrack login``) names a server and the mode is online.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._jsonsafe import float_in
from ..blobs.local import SMALL_MAX
from ..errors import ArtifactError, ConflictError

PART_SIZE = 8 << 20
SINGLE_PUT_MAX = 8 << 20  # blobs up to this size go in one request
BLOCK = 1 << 20

Progress = Callable[[int], None] | None


def is_remote(store: Any) -> bool:
    """Whether ``store`` is a team server client (:class:`~labtrack.store.http.HTTPStore`)."""
    from ..store.http import HTTPStore

    return isinstance(store, HTTPStore)


def remote_index(backend: Any) -> RemoteArtifactIndex | None:
    """The remote index for a :class:`~labtrack.artifacts._backend.Backend`, or None
    when its store is local (no server URL, or offline mode)."""
    store = backend._store
    if store is not None:
        return RemoteArtifactIndex(store, backend.blobs) if is_remote(store) else None
    from ..settings import Settings

    settings = Settings(dir=backend.dir)
    if not settings.url or settings.mode != "online":
        return None
    from ..store.http import HTTPStore

    http = HTTPStore(settings.url, settings.api_key, blobs_dir=backend.blobs.root)
    return RemoteArtifactIndex(http, backend.blobs)


def _version(info: dict[str, Any]) -> dict[str, Any]:
    info = dict(info)
    info["metadata"] = {k: float_in(v) for k, v in (info.get("metadata") or {}).items()}
    return info


class RemoteArtifactIndex:
    """:class:`~labtrack.artifacts.index.ArtifactIndex` over HTTP.

    Args:
        http: the server client (its ``_request`` raises labtrack errors).
        blobs: this machine's :class:`~labtrack.blobs.local.LocalBlobStore`.
    """

    def __init__(self, http: Any, blobs: Any) -> None:
        self.http = http
        self.blobs = blobs
        self.store = http

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http._request(method, "/remote" + path, **kwargs)

    # -- writes ------------------------------------------------------------------------
    def commit(self, project: str, name: str, type: str, entries: list[dict[str, Any]],
               digest: str, *, description: str | None = None,
               metadata: dict[str, Any] | None = None, aliases: Sequence[str] = (),
               run_id: str | None = None) -> dict[str, Any]:
        """Upload the blobs the server lacks, then commit the version there.

        Raises:
            MissingBlobsError: a blob is neither on the server nor on this machine.
        """
        from .._jsonsafe import to_jsonable
        from .index import MissingBlobsError

        stored = [e for e in entries if not e.get("ref")]
        self.upload([(e["digest"], int(e["size"])) for e in stored])
        body = {"project": project, "name": name, "type": type, "digest": digest,
                "entries": [{"path": e["path"], "digest": e.get("digest"),
                             "size": int(e["size"]), "ref": e.get("ref")} for e in entries],
                "description": description, "metadata": to_jsonable(metadata or {}),
                "aliases": list(aliases), "run_id": run_id}
        try:
            return _version(self._call("POST", "/artifacts/commit", json=body))
        except ConflictError:
            missing = self.missing([e["digest"] for e in stored])
            if missing:
                raise MissingBlobsError(missing) from None
            raise

    def record_use(self, version_id: int, run_id: str) -> None:
        """Record that a run used (consumed) a version."""
        self._call("POST", f"/artifacts/versions/{int(version_id)}/use", json={"run_id": run_id})

    def update(self, version_id: int, *, aliases: Sequence[str] | None = None,
               add_aliases: Sequence[str] = (), metadata: dict[str, Any] | None = None,
               description: str | None = None) -> dict[str, Any]:
        """Edit a version's aliases, metadata or description."""
        from .._jsonsafe import to_jsonable

        body = {"aliases": None if aliases is None else list(aliases),
                "add_aliases": list(add_aliases),
                "metadata": None if metadata is None else to_jsonable(metadata),
                "description": description}
        return _version(self._call("PATCH", f"/artifacts/versions/{int(version_id)}",
                                   json=body))

    def delete_version(self, version_id: int, force: bool = False) -> dict[str, Any]:
        """Delete a version on the server (admin of its project)."""
        return _version(self._call("DELETE", f"/artifacts/versions/{int(version_id)}",
                                   params={"force": str(bool(force)).lower()}))

    # -- reads -------------------------------------------------------------------------
    def version(self, version_id: int) -> dict[str, Any]:
        return _version(self._call("GET", f"/artifacts/versions/{int(version_id)}"))

    def resolve(self, ref: str, project: str | None = None,
                type: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("ref", ref), ("project", project), ("type", type))
                  if v is not None}
        return _version(self._call("GET", "/artifacts/resolve", params=params))

    def files(self, version_id: int) -> list[dict[str, Any]]:
        return self._call("GET", f"/artifacts/versions/{int(version_id)}/files")  # type: ignore

    def collections(self, project: str | None = None,
                    type: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("project", project), ("type", type)) if v is not None}
        return self._call("GET", "/artifacts/collections", params=params)  # type: ignore

    def versions(self, project: str, name: str) -> list[dict[str, Any]]:
        from urllib.parse import quote

        rows = self._call("GET", f"/artifacts/projects/{quote(project, safe='')}/"
                                 f"{quote(name, safe='')}/versions")
        return [_version(r) for r in rows]

    def types(self, project: str | None = None) -> list[dict[str, Any]]:
        params = {"project": project} if project is not None else {}
        return self._call("GET", "/artifacts/types", params=params)  # type: ignore

    def edges(self, version_ids: Sequence[int] = (),
              run_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        rows = self._call("POST", "/artifacts/edges",
                          json={"version_ids": [int(v) for v in version_ids],
                                "run_ids": list(run_ids)})
        for row in rows:
            row["version"] = _version(row["version"])
        return rows  # type: ignore[no-any-return]

    def run_info(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._call("POST", "/artifacts/run_info",  # type: ignore[no-any-return]
                          json={"run_ids": list(run_ids)})

    # -- blobs -------------------------------------------------------------------------
    def missing(self, digests: Sequence[str]) -> list[str]:
        """Which of ``digests`` the server lacks."""
        wanted = sorted(set(digests))
        out: list[str] = []
        for start in range(0, len(wanted), 5000):
            answer = self.http._request("POST", "/ingest/blobs/missing",
                                        json={"digests": wanted[start:start + 5000]})
            out += answer["missing"]
        return out

    def upload(self, blobs: Sequence[tuple[str, int]], progress: Progress = None) -> int:
        """Send the blobs ``[(digest, size)]`` the server lacks; returns bytes sent."""
        from ._backend import progress as progress_bar

        sizes = dict(blobs)
        lacking = self.missing(list(sizes))
        absent = set(self.blobs.missing(lacking))
        todo = [d for d in lacking if d not in absent]
        total = sum(sizes[d] for d in todo)
        sent = 0
        with progress_bar(total, "uploading to the team server") as advance:
            for digest in todo:
                sent += self.upload_blob(digest, advance or progress)
        return sent

    def upload_blob(self, digest: str, progress: Progress = None,
                    part_size: int = PART_SIZE) -> int:
        """Upload one local blob: in one request when small, else in resumable parts
        (parts the server already holds from an interrupted upload are skipped)."""
        size = self.blobs.size(digest)
        if size <= SINGLE_PUT_MAX:  # read whole (and checked) wherever it is stored
            self.http._request("PUT", f"/ingest/blobs/{digest}",
                               content=self.blobs.get_bytes(digest),
                               headers={"Content-Type": "application/octet-stream"})
            if progress is not None:
                progress(size)
            return size
        state = self._call("POST", "/uploads", json={"digest": digest, "size": size,
                                                     "part_size": part_size})
        if state["complete"]:
            return 0
        step, have = int(state["part_size"]), set(state["received"])
        sent = 0
        with self.blobs.open(digest) as fh:
            for part in range(int(state["parts"])):
                if part in have:
                    if progress is not None:
                        progress(min(step, size - part * step))
                    continue
                fh.seek(part * step)
                data = fh.read(step)
                self._call("PUT", f"/uploads/{state['id']}/{part}", content=data,
                           headers={"Content-Type": "application/octet-stream"})
                sent += len(data)
                if progress is not None:
                    progress(len(data))
        self._call("POST", f"/uploads/{state['id']}/complete")
        return sent

    def fetch_blobs(self, version_id: int, entries: Sequence[dict[str, Any]],
                    progress: Progress = None) -> int:
        """Download the blobs of ``entries`` this machine lacks into its blob store,
        each checked against its digest; returns how many were fetched.

        Raises:
            ArtifactError: a download does not match its digest.
        """
        sizes = {e["digest"]: int(e["size"]) for e in entries
                 if not e.get("ref") and e.get("digest")}
        wanted = self.blobs.missing(sorted(sizes))
        with self.blobs.batch() as batch:  # small blobs into the database, a few commits
            for digest in wanted:
                if sizes[digest] <= SMALL_MAX:
                    batch.add(digest, self._download_small(int(version_id), digest, progress))
                else:
                    self._download(int(version_id), digest, progress)
        return len(wanted)

    def _download_small(self, version_id: int, digest: str, progress: Progress) -> bytes:
        return b"".join(self._blocks(version_id, digest, progress))

    def _download(self, version_id: int, digest: str, progress: Progress) -> None:
        target = self.blobs.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in self._blocks(version_id, digest, progress):
                    out.write(block)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _blocks(self, version_id: int, digest: str, progress: Progress) -> Iterator[bytes]:
        """A blob's bytes from the server, block by block; checked against its digest
        before the last block is handed over.

        Raises:
            StoreError: the server cannot be reached (or another typed error it answers).
            ArtifactError: the bytes do not match the digest.
        """
        import httpx

        from ..errors import StoreError

        hasher = hashlib.sha256()
        url = f"/api/v1/remote/artifacts/versions/{version_id}/blobs/{digest}"
        try:
            with self.http._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    self.http._request("GET", url[len("/api/v1"):])  # raises typed
                pending = b""
                for block in response.iter_bytes(BLOCK):
                    hasher.update(block)
                    if progress is not None:
                        progress(len(block))
                    if pending:
                        yield pending
                    pending = block
        except httpx.HTTPError as err:
            raise StoreError(f"cannot download blob {digest} from the labtrack server "
                             f"at {self.http.url}: {err}") from err
        if hasher.hexdigest() != digest:
            raise ArtifactError(f"the download of blob {digest} from {self.http.url} does "
                                f"not match its digest ({hasher.hexdigest()[:12]}...)")
        if pending:
            yield pending

    def close(self) -> None:
        self.http.close()

"""ArtifactIndex: every database operation on artifacts, in one small class.

Arguments and results are plain JSON-able data (str, int, dict, list), so the
team server can expose the same methods over HTTP unchanged. A version dict is::

    {"id", "project", "name", "type", "version", "digest", "size", "file_count",
     "description", "metadata", "state", "created_at", "created_by", "aliases"}

Writes run in one store transaction each (SQLite: ``BEGIN IMMEDIATE``, so
concurrent loggers queue). On PostgreSQL two loggers racing for the same version
number or content hit a unique constraint; the loser retries.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from ..blobs import LocalBlobStore
from ..errors import ConflictError, NotFoundError, StoreError, UsageError
from ..store import schema
from . import _names
from ._errors import MissingBlobsError as MissingBlobsError  # its home before _errors
from .tables import artifact_aliases as aliases_t
from .tables import artifact_collections as coll_t
from .tables import artifact_files as files_t
from .tables import artifact_lineage as lineage_t
from .tables import artifact_versions as vers_t

_HEX64 = re.compile(r"[0-9a-f]{64}")
_BATCH = 500
_FILE_COLUMNS = ("version_id", "path", "digest", "size", "ref")

VERSION_COLUMNS = [
    vers_t.c.id, coll_t.c.project, coll_t.c.name, coll_t.c.type, vers_t.c.version,
    vers_t.c.digest, vers_t.c.size, vers_t.c.file_count, vers_t.c.description,
    vers_t.c.metadata, vers_t.c.state, vers_t.c.created_at, vers_t.c.created_by,
]


def _chunks(items: Sequence[Any], size: int = _BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _insert_files(conn: Connection, vid: int, entries: Sequence[dict[str, Any]]) -> None:
    """Insert a version's manifest rows, 5,000 per ``executemany``.

    The INSERT is compiled once for the connection's dialect and run with plain
    parameter rows (``exec_driver_sql``), not through ``conn.execute(insert(...),
    rows)``, whose per-row parameter processing cost about as much as SQLite's
    inserts (10,000 rows: 0.07-0.13 s against 0.04-0.065 s, see bench/ARTIFACTS.md).
    """
    compiled = insert(files_t).compile(dialect=conn.dialect)
    values = [(vid, e["path"], e.get("digest"), int(e["size"]), e.get("ref")) for e in entries]
    rows: list[Any]
    if not compiled.positional:  # named parameters (PostgreSQL)
        rows = [dict(zip(_FILE_COLUMNS, v, strict=True)) for v in values]
    else:
        pick = [_FILE_COLUMNS.index(k) for k in compiled.positiontup or ()]
        rows = values if pick == list(range(len(_FILE_COLUMNS))) else \
            [tuple(v[i] for i in pick) for v in values]
    sql = str(compiled)
    for batch in _chunks(rows, 5000):
        conn.exec_driver_sql(sql, list(batch))


class ArtifactIndex:
    """Artifact collections, versions, manifests, aliases and lineage in the store.

    Args:
        store: a :class:`labtrack.store.sql.SQLStore` (``write()``/``read()``).
        blobs: the blob store (``missing``, ``discard_many``, ``clean_incoming``); when
            given, :meth:`commit` checks that every blob exists and
            :meth:`delete_version` frees blobs no longer referenced.
    """

    def __init__(self, store: Any, blobs: LocalBlobStore | None = None) -> None:
        self.store = store
        self.blobs = blobs

    # -- writes ------------------------------------------------------------------
    def commit(self, project: str, name: str, type: str, entries: list[dict[str, Any]],
               digest: str, *, description: str | None = None,
               metadata: dict[str, Any] | None = None, aliases: Sequence[str] = (),
               run_id: str | None = None, version: int | None = None) -> dict[str, Any]:
        """Make a version visible: v(N+1), or the existing version with the same digest.

        ``entries`` are ``{"path", "digest", "size", "ref"}``. "latest" and ``aliases``
        move to the version; ``run_id`` is recorded as its producer. The result has
        ``"created": True`` when a new version was made.

        Raises:
            MissingBlobsError: a stored entry's blob is missing.
            UsageError: the name exists with another type.
        """
        _names.check_name(name)
        _names.check_name(type, "artifact type")
        wanted = [_names.check_alias(a) for a in aliases if a != "latest"]
        for attempt in range(8):
            try:
                with self.store.write() as conn:
                    return self._commit(conn, project, name, type, entries, digest,
                                        description, metadata, wanted, run_id, version)
            except sa_exc.IntegrityError:
                if attempt == 7:
                    raise StoreError(f"could not commit artifact {project}/{name}: it kept "
                                     "clashing with concurrent writers") from None
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _commit(self, conn: Connection, project: str, name: str, type: str,
                entries: list[dict[str, Any]], digest: str, description: str | None,
                metadata: dict[str, Any] | None, aliases: list[str],
                run_id: str | None, version: int | None = None) -> dict[str, Any]:
        now = time.time()
        row = conn.execute(select(coll_t.c.id, coll_t.c.type).where(
            coll_t.c.project == project, coll_t.c.name == name)).first()
        if row is None:
            cid = _new_id(conn.execute(insert(coll_t).values(
                project=project, name=name, type=type, description=description,
                created_at=now, updated_at=now)))
        else:
            cid = row[0]
            if row[1] != type:
                raise UsageError(f"artifact {project}/{name} has type {row[1]!r}, not {type!r}; "
                                 "use another name or the same type")
        existing = conn.execute(select(vers_t.c.id).where(
            vers_t.c.collection_id == cid, vers_t.c.digest == digest)).scalar()
        created = existing is None
        if existing is not None:
            vid = int(existing)
        else:
            if self.blobs is not None:
                missing = sorted(self.blobs.missing(list({e["digest"] for e in entries
                                                          if not e.get("ref")})))
                if missing:
                    raise MissingBlobsError(missing)
            number = conn.execute(select(func.max(vers_t.c.version)).where(
                vers_t.c.collection_id == cid)).scalar()
            next_number = 0 if number is None else int(number) + 1
            if version is not None and conn.execute(select(vers_t.c.id).where(
                    vers_t.c.collection_id == cid, vers_t.c.version == version)).first() is None:
                next_number = version  # replaying a run log keeps the original numbering
            vid = _new_id(conn.execute(insert(vers_t).values(
                collection_id=cid, version=next_number,
                digest=digest, size=sum(int(e["size"]) for e in entries),
                file_count=len(entries), description=description, metadata=metadata or {},
                state="committed", created_at=now, created_by=run_id,
            )))
            _insert_files(conn, vid, entries)
        for alias in ["latest", *aliases]:
            self._move_alias(conn, cid, alias, vid)
        if run_id:
            self._edge(conn, run_id, vid, "logged", now)
        conn.execute(update(coll_t).where(coll_t.c.id == cid).values(updated_at=now))
        out = self._version(conn, vid)
        out["created"] = created
        return out

    @staticmethod
    def _move_alias(conn: Connection, cid: int, alias: str, vid: int) -> None:
        conn.execute(delete(aliases_t).where(aliases_t.c.collection_id == cid,
                                             aliases_t.c.alias == alias))
        conn.execute(insert(aliases_t).values(collection_id=cid, alias=alias, version_id=vid))

    @staticmethod
    def _edge(conn: Connection, run_id: str, vid: int, direction: str, now: float) -> None:
        exists = conn.execute(select(lineage_t.c.run_id).where(
            lineage_t.c.run_id == run_id, lineage_t.c.version_id == vid,
            lineage_t.c.direction == direction)).first()
        if exists is None:
            conn.execute(insert(lineage_t).values(run_id=run_id, version_id=vid,
                                                  direction=direction, created_at=now))

    def record_use(self, version_id: int, run_id: str) -> None:
        """Record that a run used (consumed) a version."""
        with self.store.write() as conn:
            self._edge(conn, run_id, version_id, "used", time.time())

    def update(self, version_id: int, *, aliases: Sequence[str] | None = None,
               add_aliases: Sequence[str] = (), metadata: dict[str, Any] | None = None,
               description: str | None = None) -> dict[str, Any]:
        """Edit a version: set its aliases (``aliases``, "latest" is kept as is), move
        ``add_aliases`` to it from other versions, replace metadata or description."""
        wanted = None if aliases is None else \
            [_names.check_alias(a) for a in aliases if a != "latest"]
        extra = [_names.check_alias(a) for a in add_aliases if a != "latest"]
        with self.store.write() as conn:
            cid = conn.execute(select(vers_t.c.collection_id).where(
                vers_t.c.id == version_id)).scalar()
            if cid is None:
                raise NotFoundError(f"artifact version {version_id} does not exist")
            if wanted is not None:
                conn.execute(delete(aliases_t).where(
                    aliases_t.c.version_id == version_id, aliases_t.c.alias != "latest",
                    aliases_t.c.alias.not_in(wanted)))
            for alias in [*(wanted or []), *extra]:
                self._move_alias(conn, cid, alias, version_id)
            values: dict[str, Any] = {}
            if metadata is not None:
                values["metadata"] = metadata
            if description is not None:
                values["description"] = description
            if values:
                conn.execute(update(vers_t).where(vers_t.c.id == version_id).values(**values))
            return self._version(conn, version_id)

    def delete_version(self, version_id: int, force: bool = False) -> dict[str, Any]:
        """Delete a version; free the blobs no longer referenced by anything.

        Raises:
            ConflictError: runs used the version and ``force`` is False.
        """
        with self.store.write() as conn:
            info = self._version(conn, version_id)
            users = [r[0] for r in conn.execute(select(lineage_t.c.run_id).where(
                lineage_t.c.version_id == version_id, lineage_t.c.direction == "used"))]
            if users and not force:
                shown = ", ".join(sorted(users)[:5]) + (" ..." if len(users) > 5 else "")
                raise ConflictError(
                    f"{info['project']}/{info['name']}:v{info['version']} is used by "
                    f"{len(users)} run(s) ({shown}); deleting it breaks their lineage. "
                    "Pass force=True (CLI: --force) to delete it anyway.")
            digests = sorted({r[0] for r in conn.execute(select(files_t.c.digest).where(
                files_t.c.version_id == version_id, files_t.c.ref.is_(None)))})
            cid = conn.execute(select(vers_t.c.collection_id).where(
                vers_t.c.id == version_id)).scalar_one()
            for table in (files_t, aliases_t, lineage_t):
                conn.execute(delete(table).where(table.c.version_id == version_id))
            conn.execute(delete(vers_t).where(vers_t.c.id == version_id))
            newest = conn.execute(select(vers_t.c.id).where(vers_t.c.collection_id == cid)
                                  .order_by(vers_t.c.version.desc()).limit(1)).scalar()
            if newest is None:
                conn.execute(delete(coll_t).where(coll_t.c.id == cid))
            elif "latest" in info["aliases"]:
                self._move_alias(conn, cid, "latest", newest)
            freed = sorted(set(digests) - self._referenced(conn, digests))
            freed_bytes = 0
            if self.blobs is not None:
                # inside the transaction: a concurrent commit checks blob existence
                # under the same write lock, so it never references a freed blob
                freed_bytes = self.blobs.discard_many(freed)
                self.blobs.clean_incoming()
        info.update(freed=len(freed), freed_bytes=freed_bytes, forced=bool(users))
        return info

    @staticmethod
    def _referenced(conn: Connection, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` are still used by an artifact file, a run file, media or a
        run's environment (its package list, ``capture._package_blob``)."""
        found: set[str] = set()
        if not digests:
            return found
        for batch in _chunks(list(digests)):
            for table in (files_t, schema.files):
                found.update(r[0] for r in conn.execute(
                    select(table.c.digest).where(table.c.digest.in_(list(batch))).distinct()))
        rest = set(digests) - found
        if rest:
            for (record,) in conn.execute(select(schema.media.c.record)):
                text = record if isinstance(record, str) else repr(record)
                found.update(rest.intersection(_HEX64.findall(text)))
        rest -= found
        if rest:
            from ..capture._package_blob import REF_KEY

            environment = schema.runs.c.environment
            for (env,) in conn.execute(select(environment).where(
                    cast(environment, Text).like(f"%{REF_KEY}%"))):
                ref = env.get(REF_KEY) if isinstance(env, dict) else None
                if isinstance(ref, dict) and ref.get("digest") in rest:
                    found.add(ref["digest"])
        return found

    # -- reads -------------------------------------------------------------------
    def _version(self, conn: Connection, version_id: int) -> dict[str, Any]:
        row = conn.execute(select(*VERSION_COLUMNS).select_from(
            vers_t.join(coll_t, coll_t.c.id == vers_t.c.collection_id)).where(
            vers_t.c.id == version_id)).first()
        if row is None:
            raise NotFoundError(f"artifact version {version_id} does not exist")
        out = dict(row._mapping)
        out["metadata"] = out.get("metadata") or {}
        out["aliases"] = self._aliases(conn, [version_id]).get(version_id, [])
        return out

    @staticmethod
    def _aliases(conn: Connection, version_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for batch in _chunks(list(version_ids)):
            for vid, alias in conn.execute(select(aliases_t.c.version_id, aliases_t.c.alias)
                                           .where(aliases_t.c.version_id.in_(list(batch)))):
                out.setdefault(vid, []).append(alias)
        for names in out.values():
            names.sort(key=lambda a: (a != "latest", a))
        return out

    def version(self, version_id: int) -> dict[str, Any]:
        """One version by id."""
        with self.store.read() as conn:
            return self._version(conn, version_id)

    def resolve(self, ref: str, project: str | None = None,
                type: str | None = None) -> dict[str, Any]:
        """The version a reference names: "name[:v3|:alias]", "project/name:latest".

        Raises:
            NotFoundError: no such artifact, version or alias (or the name is ambiguous
                across projects when none is given).
            UsageError: ``type`` is given and differs.
        """
        parsed = _names.parse_ref(ref, project)
        with self.store.read() as conn:
            stmt = select(coll_t.c.id, coll_t.c.project, coll_t.c.type).where(
                coll_t.c.name == parsed.name)
            if parsed.project:
                stmt = stmt.where(coll_t.c.project == parsed.project)
            found = conn.execute(stmt).all()
            where = f" in project {parsed.project!r}" if parsed.project else ""
            if not found:
                raise NotFoundError(f"no artifact named {parsed.name!r}{where}")
            if len(found) > 1:
                projects = ", ".join(sorted(r[1] for r in found))
                raise NotFoundError(f"artifact {parsed.name!r} exists in several projects "
                                    f"({projects}); use 'project/{parsed.name}:...'")
            cid, proj, kind = found[0]
            if type is not None and kind != type:
                raise UsageError(f"artifact {proj}/{parsed.name} has type {kind!r}, not {type!r}")
            number = _names.version_number(parsed.selector)
            if number is not None:
                vid = conn.execute(select(vers_t.c.id).where(
                    vers_t.c.collection_id == cid, vers_t.c.version == number)).scalar()
            else:
                vid = conn.execute(select(aliases_t.c.version_id).where(
                    aliases_t.c.collection_id == cid,
                    aliases_t.c.alias == parsed.selector)).scalar()
            if vid is None:
                raise NotFoundError(f"artifact {proj}/{parsed.name} has no version or alias "
                                    f"{parsed.selector!r}")
            return self._version(conn, vid)

    def files(self, version_id: int) -> list[dict[str, Any]]:
        """The manifest of a version: ``{"path", "digest", "size", "ref"}`` sorted by path."""
        with self.store.read() as conn:
            rows = conn.execute(select(files_t.c.path, files_t.c.digest, files_t.c.size,
                                       files_t.c.ref).where(files_t.c.version_id == version_id)
                                .order_by(files_t.c.path)).all()
        return [{"path": p, "digest": d, "size": s, "ref": r} for p, d, s, r in rows]

    def collections(self, project: str | None = None,
                    type: str | None = None) -> list[dict[str, Any]]:
        """Artifact collections with their version count and newest version."""
        counts = select(vers_t.c.collection_id, func.count().label("versions"),
                        func.max(vers_t.c.version).label("newest"),
                        func.sum(vers_t.c.size).label("size")
                        ).group_by(vers_t.c.collection_id).subquery()
        stmt = select(coll_t.c.id, coll_t.c.project, coll_t.c.name, coll_t.c.type,
                      coll_t.c.description, coll_t.c.created_at, coll_t.c.updated_at,
                      counts.c.versions, counts.c.newest, counts.c.size).select_from(
            coll_t.join(counts, counts.c.collection_id == coll_t.c.id))
        if project is not None:
            stmt = stmt.where(coll_t.c.project == project)
        if type is not None:
            stmt = stmt.where(coll_t.c.type == type)
        with self.store.read() as conn:
            rows = conn.execute(stmt.order_by(coll_t.c.project, coll_t.c.type,
                                              coll_t.c.name)).all()
        return [dict(r._mapping, size=int(r.size or 0)) for r in rows]

    def versions(self, project: str, name: str) -> list[dict[str, Any]]:
        """Every version of one artifact, newest first, with aliases."""
        stmt = select(*VERSION_COLUMNS).select_from(
            vers_t.join(coll_t, coll_t.c.id == vers_t.c.collection_id)).where(
            coll_t.c.project == project, coll_t.c.name == name
        ).order_by(vers_t.c.version.desc())
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            if not rows:
                raise NotFoundError(f"no artifact named {name!r} in project {project!r}")
            names = self._aliases(conn, [r["id"] for r in rows])
        for row in rows:
            row["metadata"] = row.get("metadata") or {}
            row["aliases"] = names.get(row["id"], [])
        return rows

    def types(self, project: str | None = None) -> list[dict[str, Any]]:
        """Artifact types with how many collections each has."""
        stmt = select(coll_t.c.type, func.count()).group_by(coll_t.c.type)
        if project is not None:
            stmt = stmt.where(coll_t.c.project == project)
        with self.store.read() as conn:
            return [{"type": t, "collections": int(n)}
                    for t, n in conn.execute(stmt.order_by(coll_t.c.type))]

    def edges(self, version_ids: Sequence[int] = (),
              run_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Lineage edges touching these versions or runs, each with its version dict.

        ``{"run_id", "direction": "logged"|"used", "created_at", "version": {...}}``
        """
        conds = []
        if version_ids:
            conds.append(lineage_t.c.version_id.in_(list(version_ids)))
        if run_ids:
            conds.append(lineage_t.c.run_id.in_(list(run_ids)))
        if not conds:
            return []
        stmt = select(lineage_t.c.run_id, lineage_t.c.direction,
                      lineage_t.c.created_at.label("edge_created_at"),
                      *VERSION_COLUMNS).select_from(
            lineage_t.join(vers_t, vers_t.c.id == lineage_t.c.version_id)
            .join(coll_t, coll_t.c.id == vers_t.c.collection_id)).where(
            or_(*conds)).order_by(lineage_t.c.created_at)
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            names = self._aliases(conn, sorted({r["id"] for r in rows}))
        out = []
        for row in rows:
            edge = {k: row.pop(k) for k in ("run_id", "direction")}
            edge["created_at"] = row.pop("edge_created_at")
            row["metadata"] = row.get("metadata") or {}
            row["aliases"] = names.get(row["id"], [])
            edge["version"] = row
            out.append(edge)
        return out

    def run_info(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Name, project and state of runs known to the index (for lineage graphs)."""
        runs, projects = schema.runs, schema.projects
        out: dict[str, dict[str, Any]] = {}
        with self.store.read() as conn:
            for batch in _chunks(list(run_ids)):
                stmt = select(runs.c.id, runs.c.name, runs.c.state, runs.c.job_type,
                              projects.c.name.label("project")).select_from(
                    runs.join(projects, and_(projects.c.id == runs.c.project_id))).where(
                    runs.c.id.in_(list(batch)))
                for row in conn.execute(stmt):
                    out[row.id] = dict(row._mapping)
        return out

"""The Store over SQLAlchemy Core: SQLite by default, PostgreSQL for the team server.

Writes come from run writers (:meth:`SQLStore.apply`, one transaction per call,
idempotent thanks to the per-run ``last_seq``) and from edits (rename, tags,
delete). Reads serve the Api, the CLI and the UI. SQLite runs in WAL mode so
readers never wait for writers; write transactions start with ``BEGIN
IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing
on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from .._jsonsafe import float_in
from ..errors import (
    NotFoundError,
    StoreError,
)
from ..runlog import Record
from . import chunks as chunkcodec
from . import migrations, query, rowvalues, schema
from .dberrors import refused as _refused
from .dberrors import translate as _translate

runs, projects, series_t, chunks_t = schema.runs, schema.projects, schema.series, schema.chunks
files_t, media_t, streams_t = schema.files, schema.media, schema.run_streams

MERGE_LIMIT = 4096  # a flush smaller than this is merged into the series' last small chunk

LIST_COLUMNS = [
    runs.c.id, runs.c.name, runs.c.group_name, runs.c.job_type, runs.c.tags, runs.c.notes,
    runs.c.created_at, runs.c.updated_at, runs.c.finished_at, runs.c.heartbeat_at,
    runs.c.config, runs.c.summary, runs.c.host, runs.c.owner, runs.c.exit_code,
    runs.c.sweep_id, runs.c.favorite, runs.c.step, runs.c.reproduced_from,
]


class SQLStore:
    """The index of runs, series and everything else, in one SQL database."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout: float = 30.0,
        heartbeat_timeout: float = 60.0,
        migrate: bool = True,
    ) -> None:
        self.url = url
        self.heartbeat_timeout = heartbeat_timeout
        self.engine = self._make_engine(url, busy_timeout)
        self.dialect = self.engine.dialect.name
        self._project_ids: dict[str, int] = {}
        self._series_ids: dict[tuple[str, str], tuple[int, int, int | None]] = {}
        # where get_run() reads package lists of run snapshots from (the server sets its
        # blob store here); None: <dir>/blobs of a SQLite store
        self.environment_blobs: Any = None
        if migrate:
            self.migrate()

    # -- engine ------------------------------------------------------------------
    @staticmethod
    def _make_engine(url: str, busy_timeout: float) -> Engine:
        if not url.startswith("sqlite"):
            return create_engine(url, pool_pre_ping=True, future=True)
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                with contextlib.suppress(Exception):  # read-only dirs cannot switch
                    cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @property
    def where(self) -> str:
        return self.url.split("///", 1)[-1] if self.dialect == "sqlite" else \
            self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: BEGIN IMMEDIATE); errors become StoreErrors."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    yield conn
        except sa_exc.IntegrityError:
            self._series_ids.clear()
            raise
        except sa_exc.DataError as err:
            self._series_ids.clear()
            raise _refused(err) from err
        except (sa_exc.OperationalError, sa_exc.DatabaseError) as err:
            self._series_ids.clear()
            raise _translate(err, self.where) from err
        except BaseException:
            self._series_ids.clear()  # the transaction rolled back; cached chunk ids may lie
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except sa_exc.DataError as err:
            raise _refused(err) from err
        except (sa_exc.OperationalError, sa_exc.DatabaseError) as err:
            raise _translate(err, self.where) from err

    def migrate(self) -> list[int]:
        """Bring the schema up to date; returns the migration numbers applied."""
        try:
            with self.read() as conn:
                if migrations.pending(conn) == 0:
                    return []
        except StoreError:
            pass
        with self.write() as conn:
            return migrations.migrate(conn)

    def close(self) -> None:
        self.engine.dispose()

    # -- writes from run writers ---------------------------------------------------
    def last_seq(self, run_id: str, stream: str = "main") -> int:
        """The last applied sequence number of a run's log stream (-1: none)."""
        with self.read() as conn:
            return self._last_seq(conn, run_id, stream)

    @staticmethod
    def _last_seq(conn: Connection, run_id: str, stream: str) -> int:
        if stream == "main":
            value = conn.execute(select(runs.c.last_seq).where(runs.c.id == run_id)).scalar()
        else:
            value = conn.execute(select(streams_t.c.last_seq).where(
                streams_t.c.run_id == run_id, streams_t.c.stream == stream)).scalar()
        return -1 if value is None else int(value)

    def apply(self, run_id: str, records: Sequence[Record], stream: str = "main") -> int:
        """Apply run log records to the index in one transaction.

        Records whose seq is not above the stream's last applied seq are skipped,
        so applying the same records twice changes nothing. Records of a side
        stream (``stream != "main"``) may not create the run nor set its
        metadata or state. Returns the new last seq.
        """
        for attempt in range(5):
            try:
                return self._apply(run_id, records, stream)
            except sa_exc.IntegrityError:
                # PostgreSQL: a concurrent writer created the same project or run first;
                # the retry sees it (applying twice changes nothing)
                self._project_ids.clear()
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _apply(self, run_id: str, records: Sequence[Record], stream: str) -> int:
        with self.write() as conn:
            exists = conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() \
                is not None
            last = self._last_seq(conn, run_id, stream)
            start = last
            for record in rowvalues.records_to_apply(run_id, records, last, exists, stream):
                self._apply_one(conn, run_id, record, exists=exists, stream=stream)
                exists = True
                last = record.seq
            if stream != "main" and last != start:
                if start < 0:
                    conn.execute(insert(streams_t).values(run_id=run_id, stream=stream,
                                                          last_seq=last))
                else:
                    conn.execute(update(streams_t).where(
                        streams_t.c.run_id == run_id, streams_t.c.stream == stream
                    ).values(last_seq=last))
            return last

    def _project_id(self, conn: Connection, name: str, now: float) -> int:
        pid = self._project_ids.get(name)
        if pid is None:
            pid = conn.execute(select(projects.c.id).where(projects.c.name == name)).scalar()
            if pid is None:
                key = conn.execute(
                    insert(projects).values(name=name, created_at=now, updated_at=now)
                ).inserted_primary_key
                assert key is not None
                pid = key[0]
            self._project_ids[name] = int(pid)
        return int(pid)

    def _apply_one(self, conn: Connection, run_id: str, record: Record, exists: bool,
                   stream: str = "main") -> None:
        h = record.header
        now = float(h.get("time", time.time()))
        if not exists and not h.get("run"):
            raise StoreError(f"run {run_id}: the first record has no run metadata")

        def current(key: str) -> Any:
            return conn.execute(select(runs.c[key]).where(runs.c.id == run_id)).scalar()

        values = rowvalues.run_values(h, run_id, record.seq, stream, exists, now,
                                      lambda name: self._project_id(conn, name, now), current)
        if h.get("run"):
            conn.execute(update(projects).where(projects.c.id == values["project_id"])
                         .values(updated_at=now))
        if not exists:
            self._insert_run(conn, values)
        else:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        if h.get("series"):
            self._apply_series(conn, run_id, h["series"], record.blobs)
        for f in h.get("files", ()):
            conn.execute(delete(files_t).where(files_t.c.run_id == run_id,
                                               files_t.c.path == f["path"]))
            conn.execute(insert(files_t).values(run_id=run_id, path=f["path"], digest=f["digest"],
                                                size=int(f["size"]), created_at=now))
        media_rows = [
            {"run_id": run_id, "key": m["key"], "step": int(m["step"]),
             "kind": str(m["record"].get("_type", "unknown")), "record": m["record"]}
            for m in h.get("media", ())
        ]
        if media_rows:
            conn.execute(insert(media_t), media_rows)

    def _insert_run(self, conn: Connection, values: dict[str, Any]) -> None:
        base = values["name"]
        for attempt in range(50):
            try:
                with conn.begin_nested():
                    conn.execute(insert(runs).values(**values))
                return
            except sa_exc.IntegrityError:
                # names are unique per project: a clash gets a numbered suffix
                values["name"] = f"{base}-{attempt + 2}"
        raise StoreError(f"could not find a free name for run {values['id']}")

    def _series_rows(self, conn: Connection, run_id: str, entries: list[dict[str, Any]]
                     ) -> list[tuple[int, int, int | None]]:
        """(series id, last chunk id, last chunk count) per entry; new series are created.

        Batched: one query for the series a writer has not seen yet, one multi-row
        insert for new ones, one query for their last chunks.
        """
        unknown = [e for e in entries if (run_id, e["key"]) not in self._series_ids]
        if unknown:
            keys = [e["key"] for e in unknown]
            found: dict[str, int] = {}
            for part in _batches(keys):
                found.update((k, int(i)) for i, k in conn.execute(
                    select(series_t.c.id, series_t.c.key).where(
                        series_t.c.run_id == run_id, series_t.c.key.in_(part))))
            fresh = [{"run_id": run_id, "key": e["key"], "kind": e.get("kind", "float"),
                      "count": 0} for e in unknown if e["key"] not in found]
            if fresh:
                conn.execute(insert(series_t), fresh)
                for part in _batches([f["key"] for f in fresh]):
                    for i, k in conn.execute(select(series_t.c.id, series_t.c.key).where(
                            series_t.c.run_id == run_id, series_t.c.key.in_(part))):
                        self._series_ids[(run_id, k)] = (int(i), -1, None)
            old_ids = list(found.values())
            last_chunks: dict[int, tuple[int, int]] = {}
            for part in _batches(old_ids):
                newest = (select(chunks_t.c.series_id, func.max(chunks_t.c.id).label("cid"))
                          .where(chunks_t.c.series_id.in_(part))
                          .group_by(chunks_t.c.series_id).subquery())
                for sid, cid, count in conn.execute(
                        select(newest.c.series_id, newest.c.cid, chunks_t.c.count)
                        .join(chunks_t, chunks_t.c.id == newest.c.cid)):
                    last_chunks[int(sid)] = (int(cid), int(count))
            for key, sid in found.items():
                cid, count = last_chunks.get(sid, (-1, None))  # type: ignore[assignment]
                self._series_ids[(run_id, key)] = (sid, cid, count)
        return [self._series_ids[(run_id, e["key"])] for e in entries]

    def _apply_series(self, conn: Connection, run_id: str, entries: list[dict[str, Any]],
                      blobs: list[bytes]) -> None:
        infos = self._series_rows(conn, run_id, entries)
        inserts: list[dict[str, Any]] = []
        for entry, blob, (sid, last_chunk, last_count) in zip(entries, blobs, infos,
                                                               strict=True):
            n = int(entry["n"])
            if last_count is not None and last_count + n <= MERGE_LIMIT and last_chunk >= 0:
                old = conn.execute(select(chunks_t.c.data).where(chunks_t.c.id == last_chunk)
                                   ).scalar_one()
                data, count, last_step = chunkcodec.merge(old, blob)
                conn.execute(update(chunks_t).where(chunks_t.c.id == last_chunk).values(
                    data=data, count=count, last_step=last_step))
                self._series_ids[(run_id, entry["key"])] = (sid, last_chunk, last_count + n)
            else:
                inserts.append({"series_id": sid, "first_step": int(entry["first_step"]),
                                "last_step": int(entry["last_step"]), "count": n,
                                "data": blob, "_key": entry["key"]})
        if inserts:
            keys = [row.pop("_key") for row in inserts]
            conn.execute(insert(chunks_t), inserts)
            sids = [row["series_id"] for row in inserts]
            newest: dict[int, int] = {}
            for part in _batches(sids):
                newest.update((int(a), int(b)) for a, b in conn.execute(
                    select(chunks_t.c.series_id, func.max(chunks_t.c.id))
                    .where(chunks_t.c.series_id.in_(part)).group_by(chunks_t.c.series_id)))
            for key, row in zip(keys, inserts, strict=True):
                sid = row["series_id"]
                self._series_ids[(run_id, key)] = (sid, newest[sid], row["count"])
        self._update_stats(conn, [info[0] for info in infos], entries)

    @staticmethod
    def _update_stats(conn: Connection, sids: list[int], entries: list[dict[str, Any]]) -> None:
        current: dict[int, Any] = {}
        for part in _batches(sids):
            for row in conn.execute(select(
                    series_t.c.id, series_t.c.count, series_t.c.min, series_t.c.max,
                    series_t.c.first_step, series_t.c.last_step, series_t.c.backwards)
                    .where(series_t.c.id.in_(part))):
                current[int(row[0])] = tuple(row[1:])
        updates = []
        for sid, entry in zip(sids, entries, strict=True):
            n = rowvalues.merged_stats(current[sid], entry)
            updates.append({"sid": sid, "n_count": n[0], "n_min": n[1], "n_max": n[2],
                            "n_first": n[3], "n_last_step": n[4], "n_back": n[5],
                            "n_last": n[6], "n_last_time": n[7]})
            current[sid] = n[:6]
        conn.execute(
            update(series_t).where(series_t.c.id == bindparam("sid")).values(
                count=bindparam("n_count"), min=bindparam("n_min"), max=bindparam("n_max"),
                first_step=bindparam("n_first"), last_step=bindparam("n_last_step"),
                last=bindparam("n_last"), last_time=bindparam("n_last_time"),
                backwards=bindparam("n_back")),
            updates)

    def heartbeat(self, run_id: str, when: float) -> None:
        """Mark a running run alive without a new record."""
        with self.write() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id, runs.c.state == "running")
                         .values(heartbeat_at=when))

    # -- edits -------------------------------------------------------------------------
    def update_run(self, run_id: str, **fields: Any) -> None:
        """Edit a run's name, tags, notes or favourite flag (from the UI or CLI)."""
        allowed = {"name", "tags", "notes", "favorite"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"cannot edit {', '.join(sorted(unknown))}")
        values = dict(fields)
        if "tags" in values:
            tags = [str(t) for t in values["tags"]]
            values["tags"] = tags
            values["tags_text"] = "|" + "|".join(tags) + "|" if tags else ""
        with self.write() as conn:
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}")

    def delete_run(self, run_id: str) -> None:
        """Delete a run and everything indexed for it."""
        with self.write() as conn:
            sids = select(series_t.c.id).where(series_t.c.run_id == run_id)
            conn.execute(delete(chunks_t).where(chunks_t.c.series_id.in_(sids)))
            conn.execute(delete(series_t).where(series_t.c.run_id == run_id))
            conn.execute(delete(files_t).where(files_t.c.run_id == run_id))
            conn.execute(delete(media_t).where(media_t.c.run_id == run_id))
            conn.execute(delete(streams_t).where(streams_t.c.run_id == run_id))
            result = conn.execute(delete(runs).where(runs.c.id == run_id))
            if result.rowcount == 0:
                raise NotFoundError(f"no run with id {run_id!r}")
        self._series_ids = {k: v for k, v in self._series_ids.items() if k[0] != run_id}

    # -- reads ---------------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        """Every project with its run count and last activity."""
        counts = (
            select(runs.c.project_id, func.count().label("runs"),
                   func.max(runs.c.updated_at).label("last"))
            .group_by(runs.c.project_id).subquery()
        )
        stmt = (
            select(projects.c.name, projects.c.created_at, projects.c.updated_at,
                   func.coalesce(counts.c.runs, 0), counts.c.last)
            .select_from(projects.outerjoin(counts, counts.c.project_id == projects.c.id))
            .order_by(func.coalesce(counts.c.last, projects.c.updated_at).desc())
        )
        with self.read() as conn:
            return [
                {"name": name, "created_at": created, "run_count": int(n),
                 "last_activity": last if last is not None else updated}
                for name, created, updated, n, last in conn.execute(stmt)
            ]

    def _runs_stmt(self, columns: Iterable[Any], project: str | None, filter: str | None,
                   now: float, within: Iterable[str] | None = None) -> Any:
        state = query.effective_state(now, self.heartbeat_timeout).label("state")
        stmt = select(*columns, projects.c.name.label("project"), state).select_from(
            runs.join(projects, projects.c.id == runs.c.project_id))
        if project is not None:  # by id: PostgreSQL then walks ix_runs_project_created in
            # order (a condition on the joined name made it scan and sort every run)
            stmt = stmt.where(runs.c.project_id == select(projects.c.id).where(
                projects.c.name == project).scalar_subquery())
        if within is not None:  # the projects a team-server user may see
            stmt = stmt.where(projects.c.name.in_(list(within)))
        return stmt.where(query.compile_filter(filter, self.dialect, now, self.heartbeat_timeout))

    def runs(
        self,
        project: str | None = None,
        filter: str | None = None,
        order: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        ids: Sequence[str] | None = None,
        within: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Runs matching a filter expression, as dicts (no environment).

        Args:
            within: only runs of these projects (access control on the team server).
        """
        now = time.time()
        stmt = self._runs_stmt(LIST_COLUMNS, project, filter, now, within)
        if ids is not None:
            stmt = stmt.where(runs.c.id.in_(list(ids)))
        stmt = stmt.order_by(*query.order_by(order, self.dialect, now, self.heartbeat_timeout))
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        with self.read() as conn:
            return [self._row(dict(r._mapping), now) for r in conn.execute(stmt)]

    def count_runs(self, project: str | None = None, filter: str | None = None,
                   within: Iterable[str] | None = None) -> int:
        now = time.time()
        stmt = self._runs_stmt([runs.c.id], project, filter, now, within).subquery()
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(stmt)).scalar() or 0)

    def _row(self, row: dict[str, Any], now: float) -> dict[str, Any]:
        row["group"] = row.pop("group_name", None)
        row["summary"] = {k: float_in(v) for k, v in (row.get("summary") or {}).items()}
        row["config"] = row.get("config") or {}
        row["tags"] = row.get("tags") or []
        row["favorite"] = bool(row.get("favorite"))
        end = row.get("finished_at") or (now if row["state"] == "running"
                                         else row.get("heartbeat_at"))
        row["duration"] = max(0.0, (end or row["created_at"]) - row["created_at"])
        return row

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run with everything indexed about it, including the environment."""
        now = time.time()
        cols = LIST_COLUMNS + [runs.c.environment, runs.c.metric_defs, runs.c.error,
                               runs.c.pid, runs.c.last_seq]
        stmt = self._runs_stmt(cols, None, None, now).where(runs.c.id == run_id)
        with self.read() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        out = self._row(dict(row._mapping), now)
        out["environment"] = self._expanded(out.get("environment") or {})
        out["metric_defs"] = out.get("metric_defs") or {}
        return out

    def _expanded(self, environment: dict[str, Any]) -> dict[str, Any]:
        """The snapshot with its package list read back from the blobs when it names one
        (``capture._package_blob``): from :attr:`environment_blobs` (the server sets
        it), else a SQLite store's ``<dir>/blobs``, else, for a PostgreSQL store opened
        directly, the team server's blob store named by ``LABTRACK_SERVER_BLOBS`` (as
        ``labtrack server --blobs``). Without any, the reference is returned as stored."""
        from ..capture._package_blob import REF_KEY, expand_from

        if REF_KEY not in environment:
            return environment
        blobs = self.environment_blobs
        if blobs is None:
            if self.url.startswith("sqlite:///"):
                from ..blobs import LocalBlobStore

                blobs = LocalBlobStore(Path(self.url[len("sqlite:///"):]).parent / "blobs")
            elif os.environ.get("LABTRACK_SERVER_BLOBS"):
                from ..blobs.s3 import open_blobs

                blobs = open_blobs(os.environ["LABTRACK_SERVER_BLOBS"])
            else:
                return environment  # no blob store known: the reference as stored
            self.environment_blobs = blobs  # kept: its packs connection
        return expand_from(environment, blobs)

    def resolve_run(self, ref: str, project: str | None = None) -> str:
        """A run id from an id, an id prefix (>= 4 chars) or a unique name."""
        with self.read() as conn:
            if conn.execute(select(runs.c.id).where(runs.c.id == ref)).first():
                return ref
            stmt = select(runs.c.id).select_from(
                runs.join(projects, projects.c.id == runs.c.project_id))
            if project:
                stmt = stmt.where(projects.c.name == project)
            matches = [r[0] for r in conn.execute(stmt.where(runs.c.name == ref).limit(3))]
            if not matches and len(ref) >= 4:
                matches = [r[0] for r in conn.execute(
                    stmt.where(runs.c.id.like(ref.replace("%", "") + "%")).limit(3))]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(f"no run with id or name {ref!r}")
        raise NotFoundError(f"{ref!r} matches several runs ({', '.join(matches)}); use the id")

    def series(self, run_id: str) -> list[dict[str, Any]]:
        """The metric series of a run with their running stats."""
        stmt = select(series_t.c.key, series_t.c.kind, series_t.c.count, series_t.c.first_step,
                      series_t.c.last_step, series_t.c.min, series_t.c.max, series_t.c.last,
                      series_t.c.last_time, series_t.c.backwards
                      ).where(series_t.c.run_id == run_id).order_by(series_t.c.key)
        with self.read() as conn:
            out = []
            for r in conn.execute(stmt):
                row = dict(r._mapping)
                if row["last"] is None and row["count"]:
                    row["last"] = float("nan")  # SQLite stores NaN as NULL
                out.append(row)
            return out

    def read_series(self, run_id: str, key: str) -> chunkcodec.Points:
        """All points of one series, in logging order."""
        return self.read_many([run_id], [key]).get((run_id, key)) or chunkcodec.concat([])

    def read_many(self, run_ids: Sequence[str], keys: Sequence[str]
                  ) -> dict[tuple[str, str], chunkcodec.Points]:
        """Points of several series at once: {(run_id, key): Points}."""
        stmt = (select(series_t.c.run_id, series_t.c.key, chunks_t.c.data)
                .select_from(series_t.join(chunks_t, chunks_t.c.series_id == series_t.c.id))
                .where(series_t.c.run_id.in_(list(run_ids)), series_t.c.key.in_(list(keys)))
                .order_by(series_t.c.id, chunks_t.c.id))
        parts: dict[tuple[str, str], list[bytes]] = {}
        with self.read() as conn:
            for run_id, key, data in conn.execute(stmt):
                parts.setdefault((run_id, key), []).append(data)
        return {k: chunkcodec.decode_all(v) for k, v in parts.items()}

    def files(self, run_id: str) -> list[dict[str, Any]]:
        stmt = select(files_t.c.path, files_t.c.digest, files_t.c.size, files_t.c.created_at
                      ).where(files_t.c.run_id == run_id).order_by(files_t.c.path)
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def media(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        stmt = select(media_t.c.key, media_t.c.step, media_t.c.kind, media_t.c.record
                      ).where(media_t.c.run_id == run_id)
        if key is not None:
            stmt = stmt.where(media_t.c.key == key)
        with self.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt.order_by(media_t.c.key,
                                                                         media_t.c.step))]

    def run_ids(self) -> list[str]:
        with self.read() as conn:
            return [r[0] for r in conn.execute(select(runs.c.id))]


def _batches(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    """Slices small enough for an IN (...) clause on every backend."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


__all__ = ["SQLStore", "sqlite_url"]

"""``/api/v1/ingest``: what SDKs and CLIs talking to a team server use.

Records arrive as the run log's own framed bytes (zstd compressed) and go
through the same idempotent ``Store.apply`` as local writes. Reads return the
store's plain data (strict JSON: NaN as "NaN") so ``labtrack.Api`` works
against a server as it does on a local store.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..._jsonsafe import float_out
from ...errors import UsageError
from ...runlog import Record, decode_body
from ..deps import Svc

router = APIRouter(prefix="/ingest", tags=["ingest"])
MAX_BODY = 512 << 20
_FRAME = struct.Struct("<II")
DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LastSeq(BaseModel):
    last_seq: int


class Digests(BaseModel):
    digests: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]]


class Missing(BaseModel):
    missing: list[str]


class PointsQuery(BaseModel):
    runs: list[str]
    keys: list[str]


def parse_records(payload: bytes) -> list[Record]:
    """Decode a zstd body of framed records; any damage is a 400, never a partial apply."""
    import zstandard

    try:
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=MAX_BODY)
    except zstandard.ZstdError as err:
        raise UsageError(f"records body is not zstd data: {err}") from None
    records = []
    pos = 0
    while pos < len(raw):
        if pos + _FRAME.size > len(raw):
            raise UsageError("records body ends inside a frame header")
        length, crc = _FRAME.unpack_from(raw, pos)
        body = raw[pos + _FRAME.size: pos + _FRAME.size + length]
        if len(body) != length or zlib.crc32(body) != crc:
            raise UsageError(f"record at byte {pos} is damaged (length or checksum)")
        records.append(decode_body(body, pos))
        pos += _FRAME.size + length
    return records


@router.post("/{run_id}/records", response_model=LastSeq, summary="Append run log records")
async def post_records(run_id: str, request: Request, svc: Svc,
                       stream: str = Query("main", max_length=64)) -> LastSeq:
    payload = await request.body()
    if len(payload) > MAX_BODY:
        raise UsageError("records body too large")
    records = parse_records(payload)
    owner = getattr(request.state, "user", None)
    if owner is not None:
        for record in records:  # runs record who made them
            if "run" in record.header:
                record.header["run"] = dict(record.header["run"], owner=owner)
    import anyio

    last = await anyio.to_thread.run_sync(svc.store.apply, run_id, records, stream)
    return LastSeq(last_seq=last)


@router.get("/{run_id}/last_seq", response_model=LastSeq, summary="Last applied record")
def last_seq(run_id: str, svc: Svc, stream: str = Query("main", max_length=64)) -> LastSeq:
    return LastSeq(last_seq=svc.store.last_seq(run_id, stream))


class Heartbeat(BaseModel):
    time: float


@router.post("/{run_id}/heartbeat", status_code=204, summary="Mark a running run alive")
def heartbeat(run_id: str, body: Heartbeat, svc: Svc) -> Response:
    svc.store.heartbeat(run_id, body.time)
    return Response(status_code=204)


@router.post("/blobs/missing", response_model=Missing, summary="Which blobs the server lacks")
def missing_blobs(query: Digests, svc: Svc) -> Missing:
    return Missing(missing=[d for d in query.digests if not svc.blobs.exists(d)])


@router.put("/blobs/{digest}", status_code=204, summary="Upload a blob (content-addressed)")
async def put_blob(digest: str, request: Request, svc: Svc) -> Response:
    if not DIGEST.match(digest):
        raise UsageError(f"{digest!r} is not a sha256 hex digest")
    data = await request.body()
    if hashlib.sha256(data).hexdigest() != digest:
        raise UsageError(f"upload of blob {digest} does not match its digest")
    if not svc.blobs.exists(digest):
        svc.blobs.put_stream(io.BytesIO(data))
    return Response(status_code=204)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return float_out(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@router.get("/projects", summary="Projects (raw store data)")
def projects(svc: Svc) -> Any:
    return _clean(svc.store.projects())


@router.get("/runs", summary="Runs (raw store data)")
def runs(svc: Svc, project: str | None = None, filter: str | None = None,
         order: str | None = None, limit: int | None = Query(None, ge=1, le=100_000),
         offset: int = Query(0, ge=0), ids: str | None = None) -> Any:
    id_list = ids.split(",") if ids else None
    return _clean(svc.store.runs(project=project, filter=filter, order=order, limit=limit,
                                 offset=offset, ids=id_list))


@router.get("/runs/count", summary="Count runs")
def count(svc: Svc, project: str | None = None, filter: str | None = None) -> Any:
    return {"count": svc.store.count_runs(project, filter)}


@router.get("/runs/{run_id}", summary="One run (raw store data)")
def run(run_id: str, svc: Svc) -> Any:
    return _clean(svc.store.get_run(run_id))


@router.get("/resolve/{ref}", summary="Run id from id, prefix or name")
def resolve(ref: str, svc: Svc, project: str | None = None) -> Any:
    return {"id": svc.store.resolve_run(ref, project)}


@router.get("/runs/{run_id}/series", summary="Series of a run with stats")
def series(run_id: str, svc: Svc) -> Any:
    return _clean(svc.store.series(run_id))


@router.get("/runs/{run_id}/files", summary="Files of a run")
def files(run_id: str, svc: Svc) -> Any:
    return svc.store.files(run_id)


@router.get("/runs/{run_id}/media", summary="Media of a run")
def media(run_id: str, svc: Svc, key: str | None = None) -> Any:
    return svc.store.media(run_id, key)


@router.post("/points", summary="Every point of some series (not downsampled)")
def points(query: PointsQuery, svc: Svc) -> Any:
    if len(query.runs) * len(query.keys) > 10_000:
        raise UsageError("ask for at most 10,000 series at once")
    data = svc.store.read_many(query.runs, query.keys)
    return [{"run": run_id, "key": key, "steps": p.steps.tolist(),
             "values": [float_out(v) for v in p.values.tolist()], "times": p.times.tolist()}
            for (run_id, key), p in data.items()]

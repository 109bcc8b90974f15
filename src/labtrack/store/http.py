"""HTTPStore: the Store protocol over a labtrack server (team mode).

Writes send run log records (the same framed bytes as the run log, zstd
compressed) with their sequence numbers: the server applies them with the same
idempotent ``SQLStore.apply``, so a resend after a timeout never duplicates a
point. Blobs referenced by records (saved files, media) are uploaded first,
content-addressed, only when the server lacks them. Reads go through the JSON
API under ``/api/v1``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import AuthError, ConflictError, NotFoundError, StoreError, UsageError
from ..runlog import Record, encode_record
from .chunks import Points

RECORDS_TYPE = "application/x-labtrack-records+zstd"


def _digests(value: Any) -> Iterator[str]:
    """Every blob digest mentioned in a record header (files, media records)."""
    if isinstance(value, dict):
        digest = value.get("digest")
        if isinstance(digest, str) and len(digest) == 64:
            yield digest
        for item in value.values():
            yield from _digests(item)
    elif isinstance(value, list):
        for item in value:
            yield from _digests(item)


class HTTPStore:
    """A store served by ``labtrack server`` at ``url``."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 30.0,
                 blobs_dir: str | Path | None = None) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise UsageError(f"server URL must start with http:// or https://, not {url!r}")
        self.url = url.rstrip("/")
        headers = {"User-Agent": "labtrack"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._blobs_dir = Path(blobs_dir) if blobs_dir else None
        self._uploaded: set[str] = set()

    # -- plumbing ------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._client.request(method, "/api/v1" + path, **kwargs)
        except httpx.HTTPError as err:
            raise StoreError(f"cannot reach the labtrack server at {self.url}: {err}") from err
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            status = response.status_code
            if status in (401, 403):
                raise AuthError(f"{message} (server {self.url})")
            if status == 404:
                raise NotFoundError(message)
            if status == 409:
                raise ConflictError(message)
            if status in (400, 422):
                from ..errors import FilterError

                body = response.json() if response.headers.get("content-type", "").startswith(
                    "application/json") else {}
                if "position" in body:
                    raise FilterError(body.get("error", message), body.get("expression", ""),
                                      int(body["position"]))
                raise UsageError(message)
            raise StoreError(f"server error {status}: {message}")
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def close(self) -> None:
        self._client.close()

    # -- writes --------------------------------------------------------------------
    def _upload_blobs(self, records: Sequence[Record]) -> None:
        wanted = {d for r in records for d in _digests(r.header)} - self._uploaded
        if not wanted or self._blobs_dir is None:
            return
        missing = self._request("POST", "/ingest/blobs/missing", json={"digests": sorted(wanted)})
        from ..blobs import LocalBlobStore

        local = LocalBlobStore(self._blobs_dir)
        for digest in missing["missing"]:
            if not local.exists(digest):
                continue  # nothing we can send; the server reports the file as missing
            with local.open(digest) as fh:
                self._request("PUT", f"/ingest/blobs/{digest}", content=fh.read(),
                              headers={"Content-Type": "application/octet-stream"})
        self._uploaded |= wanted

    def apply(self, run_id: str, records: Sequence[Record], stream: str = "main") -> int:
        """Send records; the server skips the ones it already has."""
        import zstandard

        if not records:
            return self.last_seq(run_id, stream)
        self._upload_blobs(records)
        body = b"".join(encode_record({k: v for k, v in r.header.items() if k != "blob_sizes"},
                                      r.blobs) for r in records)
        payload = zstandard.ZstdCompressor(level=3).compress(body)
        result = self._request("POST", f"/ingest/{run_id}/records", params={"stream": stream},
                               content=payload, headers={"Content-Type": RECORDS_TYPE})
        return int(result["last_seq"])

    def last_seq(self, run_id: str, stream: str = "main") -> int:
        return int(self._request("GET", f"/ingest/{run_id}/last_seq",
                                 params={"stream": stream})["last_seq"])

    def heartbeat(self, run_id: str, when: float) -> None:
        self._request("POST", f"/ingest/{run_id}/heartbeat", json={"time": when})

    def update_run(self, run_id: str, **fields: Any) -> None:
        self._request("PATCH", f"/runs/{run_id}", json=fields)

    def delete_run(self, run_id: str) -> None:
        self._request("DELETE", f"/runs/{run_id}")

    # -- reads ---------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        return self._request("GET", "/ingest/projects")  # type: ignore[no-any-return]

    def runs(self, project: str | None = None, filter: str | None = None,
             order: str | None = None, limit: int | None = None, offset: int = 0,
             ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"offset": offset}
        for key, value in (("project", project), ("filter", filter), ("order", order),
                           ("limit", limit)):
            if value is not None:
                params[key] = value
        if ids is not None:
            params["ids"] = ",".join(ids)
        return self._request("GET", "/ingest/runs", params=params)  # type: ignore[no-any-return]

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        params = {k: v for k, v in (("project", project), ("filter", filter)) if v is not None}
        return int(self._request("GET", "/ingest/runs/count", params=params)["count"])

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/ingest/runs/{run_id}")  # type: ignore[no-any-return]

    def resolve_run(self, ref: str, project: str | None = None) -> str:
        params = {"project": project} if project else {}
        return str(self._request("GET", f"/ingest/resolve/{ref}", params=params)["id"])

    def series(self, run_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/ingest/runs/{run_id}/series")  # type: ignore[no-any-return]

    def read_many(self, run_ids: Sequence[str], keys: Sequence[str]
                  ) -> dict[tuple[str, str], Points]:
        import numpy as np

        data = self._request("POST", "/ingest/points", json={"runs": list(run_ids),
                                                             "keys": list(keys)})
        out = {}
        for item in data:
            out[(item["run"], item["key"])] = Points(
                np.asarray(item["steps"], dtype=np.int64),
                np.asarray([float(v) for v in item["values"]], dtype=np.float64),
                np.asarray(item["times"], dtype=np.float64))
        return out

    def read_series(self, run_id: str, key: str) -> Points:
        from .chunks import concat

        return self.read_many([run_id], [key]).get((run_id, key)) or concat([])

    def files(self, run_id: str) -> list[dict[str, Any]]:
        return self._request("GET", f"/ingest/runs/{run_id}/files")  # type: ignore[no-any-return]

    def media(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        params = {"key": key} if key else {}
        return self._request("GET", f"/ingest/runs/{run_id}/media",  # type: ignore[no-any-return]
                             params=params)

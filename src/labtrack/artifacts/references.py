"""Reference entries: files that stay where they are (``file://``, ``s3://``).

A reference records the uri, the size and a checksum (``sha256:...`` for local
files, ``etag:...`` for S3 objects) without copying anything. Downloading one
fetches it again and checks that the checksum still matches. S3 goes through
boto3, imported only when an ``s3://`` reference is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import ArtifactError, UsageError
from . import _names
from ._backend import Backend


def _file_path(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise UsageError(f"reference {uri!r}: file:// references must name a local path "
                         "(file:///abs/path)")
    return Path(unquote(parsed.path))


def expand(backend: Backend, uri: str, name: str | None, checksum: bool,
           max_objects: int | None) -> list[dict[str, Any]]:
    """The entries a reference adds: one per file (a directory or prefix expands).

    Raises:
        UsageError: an unsupported scheme.
        ArtifactError: the referenced file or object does not exist.
    """
    scheme = urlparse(uri).scheme
    if scheme == "file":
        return _expand_file(backend, uri, name, checksum, max_objects)
    if scheme == "s3":
        return _expand_s3(uri, name, checksum, max_objects)
    raise UsageError(f"reference {uri!r}: only file:// and s3:// references are supported")


def _expand_file(backend: Backend, uri: str, name: str | None, checksum: bool,
                 max_objects: int | None) -> list[dict[str, Any]]:
    from ._transfer import hash_local

    path = _file_path(uri)
    if not path.exists():
        raise ArtifactError(f"reference {uri!r}: {path} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if max_objects is not None and len(files) > max_objects:
            raise ArtifactError(f"reference {uri!r} holds {len(files)} files, more than "
                                f"max_objects={max_objects}")
        prefix = name if name is not None else ""
        pairs = [(f"{prefix}/{p.relative_to(path).as_posix()}" if prefix
                  else p.relative_to(path).as_posix(), p) for p in files]
    else:
        pairs = [(name if name is not None else path.name, path)]
    out = []
    for entry_path, local in pairs:
        entry_path = _names.check_entry_path(entry_path)
        if checksum:
            digest, size = hash_local(backend, str(local), entry_path)
            check: str | None = f"sha256:{digest}"
        else:
            check, size = None, local.stat().st_size
        out.append({"path": entry_path, "ref": local.resolve().as_uri(), "digest": check,
                    "size": size})
    return out


def _s3_client() -> Any:
    try:
        import boto3
    except ImportError:
        raise UsageError("s3:// references need boto3: pip install boto3") from None
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def _expand_s3(uri: str, name: str | None, checksum: bool,
               max_objects: int | None) -> list[dict[str, Any]]:
    client = _s3_client()
    bucket, key = _split_s3(uri)
    objects: list[dict[str, Any]] = []
    try:
        if key:
            head = client.head_object(Bucket=bucket, Key=key)
            objects = [{"Key": key, "Size": head["ContentLength"], "ETag": head["ETag"]}]
    except Exception:  # noqa: BLE001 - not an object: try it as a prefix
        objects = []
    single = bool(objects)
    if not objects:
        prefix = key.rstrip("/") + "/" if key else ""
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            objects.extend(page.get("Contents", []))
            if max_objects is not None and len(objects) > max_objects:
                raise ArtifactError(f"reference {uri!r} holds more than "
                                    f"max_objects={max_objects} objects")
        if not objects:
            raise ArtifactError(f"reference {uri!r}: no such object or prefix in bucket "
                                f"{bucket!r}")
    out = []
    for obj in objects:
        if single:
            entry_path = name if name is not None else obj["Key"].rsplit("/", 1)[-1]
        else:
            rel = obj["Key"][len(key.rstrip("/") + "/") if key else 0:]
            entry_path = f"{name}/{rel}" if name else rel
        out.append({"path": _names.check_entry_path(entry_path),
                    "ref": f"s3://{bucket}/{obj['Key']}",
                    "digest": f"etag:{obj['ETag'].strip(chr(34))}" if checksum else None,
                    "size": int(obj["Size"])})
    return out


def fetch(backend: Backend, entry: dict[str, Any], target: Path, label: str) -> None:
    """Fetch a reference entry to ``target`` and check its checksum.

    Raises:
        ArtifactError: the referenced file is gone or its checksum changed.
    """
    uri, check = entry["ref"], entry.get("digest")
    target.parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith("file:"):
        source = _file_path(uri)
        if not source.is_file():
            raise ArtifactError(f"{label}: reference {entry['path']!r} points to {source}, "
                                "which no longer exists")
        if check:
            from ._transfer import hash_local

            digest, _ = hash_local(backend, str(source), entry["path"])
            if f"sha256:{digest}" != check:
                raise ArtifactError(f"{label}: reference {entry['path']!r} ({source}) changed "
                                    "since it was logged (checksum mismatch)")
        if target.exists() and os.path.samefile(source, target):
            return
        tmp = target.with_name(f".{target.name}.labtrack-tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        return
    bucket, key = _split_s3(uri)
    client = _s3_client()
    if check:
        etag = client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        if f"etag:{etag}" != check:
            raise ArtifactError(f"{label}: reference {entry['path']!r} ({uri}) changed since "
                                "it was logged (ETag mismatch)")
    tmp = target.with_name(f".{target.name}.labtrack-tmp")
    client.download_file(bucket, key, str(tmp))
    os.replace(tmp, target)

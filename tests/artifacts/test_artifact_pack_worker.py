"""The worker process that stores half of many small files: results, changed files, failures."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore, _packing
from labtrack.blobs.local import stat_key


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[_packing.PackWorker | None]:
    """Workers start from 4 small files on; the list collects each start's result."""
    monkeypatch.setattr(_packing, "WORKER_MIN_FILES", 4)
    monkeypatch.setattr(_packing, "WORKER_MIN_BYTES", 0)
    monkeypatch.setattr(_packing, "WORKER_START_FILES", 0)
    monkeypatch.delenv(_packing.DISABLE_ENV, raising=False)
    started: list[_packing.PackWorker | None] = []
    start = _packing.PackWorker.start.__func__  # type: ignore[attr-defined]

    def spy(cls: type, *args: object) -> _packing.PackWorker | None:
        worker = start(cls, *args)
        started.append(worker)
        return worker

    monkeypatch.setattr(_packing.PackWorker, "start", classmethod(spy))
    return started


def _small_files(folder: Path, count: int) -> dict[str, bytes]:
    content = {f"d{i % 4}/f{i:03d}.bin": os.urandom(300 + i) for i in range(count)}
    for name, body in content.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    return content


def _stage(folder: Path, names: list[str]) -> list[tuple[str, str, tuple[int, int, int, int, int]]]:
    return [(name, str(folder / name), stat_key(os.stat(folder / name))) for name in names]


def test_a_worker_stores_half_of_an_artifact(make_run, tmp_path, store_dir, small_blobs, workers):
    content = _small_files(tmp_path / "data", 40)
    content["d0/same.bin"] = content["d0/f000.bin"]  # a blob twice: stored once
    (tmp_path / "data" / "d0/same.bin").write_bytes(content["d0/same.bin"])
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(tmp_path / "data")
    run.log_artifact(art)
    assert len(workers) == 1 and workers[0] is not None
    assert {e["path"]: e["digest"] for e in art.manifest} == \
        {name: _digest(body) for name, body in content.items()}
    assert small_blobs() == {_digest(b): b for b in content.values()}
    assert len(os.listdir(store_dir / "blobs" / "packs")) == 2  # this process's and the worker's
    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    assert all((folder / name).read_bytes() == body for name, body in content.items())


def test_files_changed_since_their_stat_are_stored_as_they_are_now(tmp_path, workers):
    content = _small_files(tmp_path / "data", 12)
    blobs = LocalBlobStore(tmp_path / "blobs")
    files = _stage(tmp_path / "data", sorted(content))
    for name, _, _ in files[-3:]:  # the worker's half: changed after the stat
        (tmp_path / "data" / name).write_bytes(b"rewritten " + name.encode())
        content[name] = b"rewritten " + name.encode()
    with blobs.batch() as batch:
        stored = blobs.put_small_files(files, batch)
    assert workers and workers[0] is not None
    assert [digest for digest, _, _ in stored] == [_digest(content[n]) for n, _, _ in files]
    assert [size for _, size, _ in stored] == [len(content[n]) for n, _, _ in files]
    assert blobs.read_small_many([_digest(b) for b in content.values()]) == \
        {_digest(b): b for b in content.values()}


def test_a_failed_worker_leaves_its_files_to_this_process(tmp_path, workers, monkeypatch):
    content = _small_files(tmp_path / "data", 10)
    blobs = LocalBlobStore(tmp_path / "blobs")
    files = _stage(tmp_path / "data", sorted(content))
    fake = tmp_path / "fake_worker.py"  # writes a pack, names it, then dies
    fake.write_text(
        "import os, sys\n"
        "folder = os.path.dirname(sys.argv[1])\n"
        "open(os.path.join(folder, 'half.pack'), 'wb').write(b'x' * 10)\n"
        "print('P half.pack', flush=True)\n"
        "sys.exit(3)\n")
    monkeypatch.setattr(_packing, "__file__", str(fake))
    with blobs.batch() as batch:
        stored = blobs.put_small_files(files, batch)
    assert workers and workers[0] is not None
    assert [d for d, _, _ in stored] == [_digest(content[n]) for n, _, _ in files]
    packs = os.listdir(tmp_path / "blobs" / "packs")
    assert "half.pack" not in packs and not [p for p in packs if p.startswith(".job-")]
    assert len(blobs.read_small_many([d for d, _, _ in stored])) == len(content)


def test_no_worker_where_none_can_start(tmp_path, workers, monkeypatch):
    content = _small_files(tmp_path / "data", 8)
    blobs = LocalBlobStore(tmp_path / "blobs")
    files = _stage(tmp_path / "data", sorted(content))
    python = sys.executable
    monkeypatch.setattr(sys, "executable", "")
    with blobs.batch() as batch:
        first = blobs.put_small_files(files[:4], batch)
    monkeypatch.setenv(_packing.DISABLE_ENV, "1")
    monkeypatch.setattr(sys, "executable", python)
    with blobs.batch() as batch:
        second = blobs.put_small_files(files[4:], batch)
    assert workers == [None, None]
    assert [d for d, _, _ in first + second] == [_digest(content[n]) for n, _, _ in files]


def test_the_worker_script_runs_alone(tmp_path):
    """The worker, as the caller starts it: isolated, no site packages."""
    content = _small_files(tmp_path / "data", 6)
    files = _stage(tmp_path / "data", sorted(content))
    (tmp_path / "data" / files[2][0]).write_bytes(b"changed")
    worker = _packing.PackWorker.start(str(tmp_path / "packs"), files, flush_bytes=1000,
                                       small_max=1 << 20)
    assert worker is not None
    done = worker.finish()
    assert done is not None
    packs, stored, redo = done
    assert redo == [2] and sorted(stored) == [0, 1, 3, 4, 5]
    assert all(stored[i] == (_digest(content[files[i][0]]), files[i][2]) for i in stored)
    assert len(packs) >= 2  # 1000 bytes a pack
    for name, indexes in packs:
        body = (tmp_path / "packs" / name).read_bytes()
        assert body == b"".join(content[files[i][0]] for i in indexes)
        assert not os.access(tmp_path / "packs" / name, os.W_OK) or os.geteuid() == 0


def test_first_log_starts_the_worker_early_and_a_relog_does_not(make_run, tmp_path, store_dir,
                                                                 workers, monkeypatch):
    """A first log hands the tail to a worker before anything is stat'ed (it stats them
    itself; big files come back to this process); a log of known paths does not."""
    from labtrack.blobs.local import SMALL_MAX

    monkeypatch.setattr(_packing, "WORKER_MIN_FILES", 30)
    content = _small_files(tmp_path / "data", 40)
    content["d3/zz-big.bin"] = os.urandom(SMALL_MAX + 10)  # last: in the worker's share
    (tmp_path / "data" / "d3/zz-big.bin").write_bytes(content["d3/zz-big.bin"])
    for path in (tmp_path / "data").rglob("*.bin"):
        os.utime(path, (1e9, 1e9))  # old enough for the digest cache
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(tmp_path / "data")
    run.log_artifact(art)
    assert len(workers) == 1 and workers[0] is not None
    assert all(key is None for _, _, key in workers[0].files)  # stat'ed by the worker
    assert {e["path"]: e["digest"] for e in art.manifest} == \
        {name: _digest(body) for name, body in content.items()}
    blobs = LocalBlobStore(store_dir / "blobs")
    assert blobs.path(_digest(content["d3/zz-big.bin"])).exists()  # a file, not packed
    assert blobs.get_bytes(_digest(content["d3/zz-big.bin"])) == content["d3/zz-big.bin"]

    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(tmp_path / "data")
    run.log_artifact(again)  # every file known: read nothing, start nothing
    assert again.version == "v0" and len(workers) == 1

    for name in list(content)[:35]:  # most files rewritten: paths known, stats not
        content[name] = b"new " + content[name]
        (tmp_path / "data" / name).write_bytes(content[name])
    third = labtrack.Artifact("ds", "dataset")
    third.add_dir(tmp_path / "data")
    run.log_artifact(third)
    assert third.version == "v1" and len(workers) == 2 and workers[1] is not None
    assert all(key is not None for _, _, key in workers[1].files)  # stat'ed here
    folder = Path(run.use_artifact("ds:v1").download(tmp_path / "out"))
    assert all((folder / name).read_bytes() == body for name, body in content.items())

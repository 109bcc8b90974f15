"""Logging artifacts: versions, deduplication, names, bad input, references, the digest cache."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore
from labtrack.errors import ArtifactError, NotFoundError, UsageError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_versions_change_only_with_content(make_run, files, blobs, tmp_path):
    run = make_run()
    data = files(tmp_path / "data", {"a.txt": "alpha", "sub/b.bin": os.urandom(3000)})

    art = labtrack.Artifact("ds", "dataset", metadata={"rows": 2})
    art.add_dir(data)
    run.log_artifact(art)
    assert (art.version, art.name, art.file_count) == ("v0", "ds:v0", 2)
    assert art.size == 5 + 3000
    assert blobs() == 2

    # the same content, added again from a copy elsewhere: the same version
    copy = files(tmp_path / "copy", {"a.txt": "alpha",
                                     "sub/b.bin": (data / "sub/b.bin").read_bytes()})
    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(copy)
    run.log_artifact(again)
    assert again.version == "v0" and again.digest == art.digest
    assert blobs() == 2

    (data / "a.txt").write_text("beta")
    changed = labtrack.Artifact("ds", "dataset")
    changed.add_dir(data)
    run.log_artifact(changed)
    assert changed.version == "v1" and changed.digest != art.digest
    assert blobs() == 3  # only the changed file is new
    assert "latest" in labtrack.Api().artifact("proj/ds:latest").to_dict()["aliases"]
    assert labtrack.Api().artifact("proj/ds:latest").version == "v1"


def test_manifest_records_each_file(make_run, files, tmp_path):
    run = make_run()
    data = files(tmp_path / "d", {"x/1.txt": "one", "x/2.txt": "two"})
    art = labtrack.Artifact("mixed", "dataset")
    art.add_dir(data, name="inputs")
    art.add_file(data / "x/1.txt", name="renamed/first.txt")
    with art.new_file("notes/readme.md") as fh:
        fh.write("# notes\n")
    run.log_artifact(art)
    manifest = {e["path"]: e for e in labtrack.Api().artifact("mixed:v0").manifest}
    assert set(manifest) == {"inputs/x/1.txt", "inputs/x/2.txt", "renamed/first.txt",
                             "notes/readme.md"}
    assert manifest["renamed/first.txt"]["digest"] == _sha(b"one")
    assert manifest["notes/readme.md"]["size"] == len("# notes\n")
    assert manifest["inputs/x/2.txt"]["ref"] is None


def test_logged_artifact_is_immutable(make_run, files, tmp_path):
    run = make_run()
    art = labtrack.Artifact("m", "model")
    art.add_file(files(tmp_path, {"w.bin": b"w"}) / "w.bin")
    run.log_artifact(art)
    with pytest.raises(UsageError, match="logged and cannot change"):
        art.add_file(tmp_path / "w.bin", name="other.bin")


@pytest.mark.parametrize("name", ["", "a/b", "a:b", "has space", ".hidden", "x" * 129, 3])
def test_invalid_artifact_names(name):
    with pytest.raises(UsageError, match="invalid"):
        labtrack.Artifact(name, "dataset")


def test_invalid_type_alias_and_entry_names(make_run, files, tmp_path):
    with pytest.raises(UsageError, match="artifact type"):
        labtrack.Artifact("ok", "bad type")
    art = labtrack.Artifact("ok", "dataset")
    path = files(tmp_path, {"f.txt": "f"}) / "f.txt"
    for bad in ("../escape.txt", "/abs.txt", ""):
        with pytest.raises(UsageError, match="entry name"):
            art.add_file(path, name=bad)
    art.add_file(path)
    run = make_run()
    with pytest.raises(UsageError, match="reserved"):
        run.log_artifact(art, aliases=["v3"])
    with pytest.raises(UsageError, match="alias"):
        run.log_artifact(art, aliases=["no/slash"])


def test_same_name_with_another_type_is_refused(make_run, files, tmp_path):
    run = make_run()
    path = files(tmp_path, {"f.txt": "f"}) / "f.txt"
    art = labtrack.Artifact("thing", "dataset")
    art.add_file(path)
    run.log_artifact(art)
    other = labtrack.Artifact("thing", "model")
    other.add_file(path)
    with pytest.raises(UsageError, match="has type 'dataset', not 'model'"):
        run.log_artifact(other)


def test_missing_file(make_run, files, tmp_path):
    art = labtrack.Artifact("ds", "dataset")
    with pytest.raises(ArtifactError, match="does not exist"):
        art.add_file(tmp_path / "nope.txt")
    with pytest.raises(ArtifactError, match="not a directory"):
        art.add_dir(tmp_path / "nodir")
    # a file that disappears between add_file and log: named, and no version appears
    data = files(tmp_path / "d", {"keep.txt": "k", "gone.txt": "g"})
    art.add_dir(data)
    (data / "gone.txt").unlink()
    run = make_run()
    with pytest.raises(ArtifactError, match="gone.txt"):
        run.log_artifact(art)
    with pytest.raises(NotFoundError):
        labtrack.Api().artifact("ds:latest")


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    path = tmp_path / "secret.txt"
    path.write_text("s")
    path.chmod(0)
    with pytest.raises(ArtifactError, match="secret.txt is not readable"):
        labtrack.Artifact("ds", "dataset").add_file(path)


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_read_error_is_reported(make_run):
    # /proc/self/mem is a regular file that anyone may open but reading offset 0 fails (EIO)
    art = labtrack.Artifact("ds", "dataset")
    art.add_file("/proc/self/mem", name="mem.bin")
    with pytest.raises(ArtifactError, match="mem.bin: cannot read"):
        make_run().log_artifact(art)
    with pytest.raises(NotFoundError):
        labtrack.Api().artifact("ds")


def test_special_files_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ArtifactError, match="not a regular file"):
        labtrack.Artifact("ds", "dataset").add_file(fifo)
    with pytest.raises(ArtifactError, match="pipe.*not a regular file"):
        labtrack.Artifact("ds", "dataset").add_dir(tmp_path)
    with pytest.raises(ArtifactError, match="not a regular file"):  # and never blocks
        LocalBlobStore(tmp_path / "blobs").put_path(fifo)


def test_file_changing_while_stored_is_refused(tmp_path):
    path = tmp_path / "growing.bin"
    path.write_bytes(os.urandom(3 << 20))
    store = LocalBlobStore(tmp_path / "blobs")
    calls = []

    def append_once(n: int) -> None:
        calls.append(n)
        if len(calls) == 1:
            with open(path, "ab") as fh:
                fh.write(b"more")

    with pytest.raises(ArtifactError, match="changed while it was being added"):
        store.put_path(path, progress=append_once)
    assert not list((tmp_path / "blobs").rglob("sha256/*/*"))  # nothing kept
    assert not list((tmp_path / "blobs").glob(".incoming-*"))


def test_file_changing_during_log_is_detected(make_run, tmp_path):
    path = tmp_path / "live.log"
    path.write_bytes(os.urandom(24 << 20))
    stop = threading.Event()

    def writer() -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            while not stop.wait(0.0005):
                os.write(fd, b"x" * 512)
        finally:
            os.close(fd)

    thread = threading.Thread(target=writer)
    run = make_run()
    art = labtrack.Artifact("logs", "dataset")
    art.add_file(path)
    thread.start()
    try:
        with pytest.raises(ArtifactError, match="live.log.*changed while"):
            run.log_artifact(art)
    finally:
        stop.set()
        thread.join()
    run.log_artifact(art)  # once the file is complete it logs fine
    assert art.size == path.stat().st_size


def test_file_references(make_run, files, tmp_path):
    data = files(tmp_path / "remote", {"a.csv": "x\n1\n", "deep/b.csv": "x\n2\n"})
    run = make_run()
    art = labtrack.Artifact("refs", "dataset")
    art.add_reference(data.as_uri(), name="data")
    art.add_reference((data / "a.csv").as_uri())
    run.log_artifact(art)
    manifest = {e["path"]: e for e in art.manifest}
    assert set(manifest) == {"data/a.csv", "data/deep/b.csv", "a.csv"}
    assert manifest["a.csv"]["ref"] == (data / "a.csv").resolve().as_uri()
    assert manifest["a.csv"]["digest"] == "sha256:" + _sha(b"x\n1\n")
    folder = Path(run.use_artifact("refs:v0").download(tmp_path / "out"))
    assert (folder / "data/deep/b.csv").read_text() == "x\n2\n"

    (data / "a.csv").write_text("x\n9\n")  # the referenced file changed
    with pytest.raises(ArtifactError, match="a.csv.*changed since it was logged"):
        run.use_artifact("refs:v0").download(tmp_path / "out2")
    with pytest.raises(ArtifactError, match="does not exist"):
        labtrack.Artifact("r2", "dataset").add_reference((tmp_path / "missing").as_uri())
    with pytest.raises(UsageError, match="only file:// and s3://"):
        labtrack.Artifact("r2", "dataset").add_reference("ftp://host/x")


def test_s3_reference_with_moto(make_run, tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="bkt")
        client.put_object(Bucket="bkt", Key="sets/train/a.txt", Body=b"aaa")
        client.put_object(Bucket="bkt", Key="sets/train/b.txt", Body=b"bb")
        run = make_run()
        art = labtrack.Artifact("s3set", "dataset")
        art.add_reference("s3://bkt/sets/train", name="train")
        run.log_artifact(art)
        manifest = {e["path"]: e for e in art.manifest}
        assert set(manifest) == {"train/a.txt", "train/b.txt"}
        assert manifest["train/a.txt"]["digest"].startswith("etag:")
        assert manifest["train/b.txt"]["size"] == 2
        folder = Path(art.download(tmp_path / "s3out"))
        assert (folder / "train/a.txt").read_bytes() == b"aaa"
        client.put_object(Bucket="bkt", Key="sets/train/a.txt", Body=b"changed")
        with pytest.raises(ArtifactError, match="ETag mismatch"):
            art.download(tmp_path / "s3out2")


def test_relogging_unchanged_files_reads_nothing(make_run, files, tmp_path, monkeypatch):
    data = files(tmp_path / "d", {f"f{i}.txt": f"content {i}" for i in range(20)}, age=60)
    reads: list[str] = []
    original, original_small = LocalBlobStore.put_path, LocalBlobStore.put_small_files

    def spy(self, path, *args, **kwargs):
        reads.append(os.path.basename(path))
        return original(self, path, *args, **kwargs)

    def spy_small(self, files, *args, **kwargs):
        reads.extend(os.path.basename(path) for _, path, _ in files)
        return original_small(self, files, *args, **kwargs)

    monkeypatch.setattr(LocalBlobStore, "put_path", spy)
    monkeypatch.setattr(LocalBlobStore, "put_small_files", spy_small)
    run = make_run()
    first = labtrack.Artifact("cached", "dataset")
    first.add_dir(data)
    run.log_artifact(first)
    assert len(reads) == 20
    reads.clear()
    second = labtrack.Artifact("cached", "dataset")
    second.add_dir(data)
    run.log_artifact(second)
    assert reads == [] and second.version == "v0"
    (data / "f3.txt").write_text("new content")
    third = labtrack.Artifact("cached", "dataset")
    third.add_dir(data)
    run.log_artifact(third)
    assert reads == ["f3.txt"] and third.version == "v1"


def test_log_paths_and_shortcuts(make_run, files, tmp_path):
    data = files(tmp_path, {"weights.pt": b"\x00\x01", "train.csv": "a\n1\n"})
    run = make_run()
    model = run.log_model(data / "weights.pt", "net", aliases=["candidate"])
    assert (model.type, model.version, model.aliases) == ("model", "v0", ["candidate"])
    dataset = run.use_dataset(data / "train.csv")
    assert (dataset.collection_name, dataset.type) == ("train.csv", "dataset")
    assert dataset.used_by() == [run.id] and dataset.logged_by() is None
    plain = run.log_artifact(data / "train.csv", name="raw", type="table")
    assert plain.type == "table" and plain.file_count == 1
    assert Path(run.use_model("net:candidate")).read_bytes() == b"\x00\x01"


def test_building_an_artifact_imports_no_database_code(tmp_path):
    import subprocess
    import sys

    code = ("import sys, labtrack\n"
            "art = labtrack.Artifact('a', 'dataset')\n"
            "with art.new_file('x.txt') as fh: fh.write('x')\n"
            "print(sorted(m for m in ('sqlalchemy', 'numpy', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.stdout.strip() == "[]", out.stderr


def test_new_file_scratch_space_is_removed(make_run):
    art = labtrack.Artifact("notes", "dataset")
    with art.new_file("a/b.txt") as fh:
        fh.write("text")
    scratch = art._tmpdir
    assert scratch and os.path.isfile(os.path.join(scratch, "a", "b.txt"))
    make_run().log_artifact(art)
    assert not os.path.exists(scratch)
    dropped = labtrack.Artifact("never-logged", "dataset")
    with dropped.new_file("x.txt") as fh:
        fh.write("x")
    scratch = dropped._tmpdir
    del dropped
    import gc

    gc.collect()
    assert scratch and not os.path.exists(scratch)


def test_big_files_are_streamed(make_run, tmp_path):
    import tracemalloc

    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(6):
            fh.write(os.urandom(4 << 20))
    run = make_run()
    art = labtrack.Artifact("big", "dataset")
    art.add_file(big)
    tracemalloc.start()
    try:
        run.log_artifact(art)
        art.download(tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert art.size == 24 << 20
    assert peak < 12 << 20, f"logging a 24 MiB file allocated {peak >> 20} MiB"

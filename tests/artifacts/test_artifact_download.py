"""Downloading: verified digests, hard links and copies, the cache, tampered and missing blobs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore
from labtrack.errors import ArtifactError, UsageError


@pytest.fixture
def logged(make_run, files, tmp_path):
    run = make_run()
    data = files(tmp_path / "data", {"a.txt": "alpha", "nested/b.txt": "bravo",
                                     "big.bin": os.urandom(2 << 20)})
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    return run, data


def _blob(store_dir: Path, digest: str) -> Path:
    return LocalBlobStore(store_dir / "blobs").path(digest)


def test_download_matches_and_is_cached(logged, store_dir):
    run, data = logged
    art = run.use_artifact("ds:v0")
    folder = Path(art.download())
    assert folder == store_dir / "artifacts-cache" / "proj" / "ds" / "v0"
    for rel in ("a.txt", "nested/b.txt", "big.bin"):
        assert (folder / rel).read_bytes() == (data / rel).read_bytes()
    entry = {e["path"]: e for e in art.manifest}["big.bin"]
    blob = _blob(store_dir, entry["digest"])
    # a hard link to the stored blob, read-only so that in-place edits fail for users
    assert os.stat(folder / "big.bin").st_ino == blob.stat().st_ino
    assert not (blob.stat().st_mode & 0o222)
    # small files are copies out of the blob database, read-only like the links
    small = os.stat(folder / "a.txt")
    assert small.st_nlink == 1 and not (small.st_mode & 0o222)
    # again: same folder, same inodes, nothing rewritten
    assert Path(art.download()) == folder
    again = os.stat(folder / "a.txt")
    assert (again.st_ino, again.st_mtime_ns) == (small.st_ino, small.st_mtime_ns)
    art.verify()


def test_download_to_root_single_entries_and_file(logged, tmp_path):
    run, data = logged
    art = run.use_artifact("ds")
    root = tmp_path / "out"
    assert Path(art.download(root)) == root
    one = art.get_path("nested/b.txt").download(tmp_path / "single")
    assert Path(one).read_text() == "bravo"
    assert sorted(p.name for p in (tmp_path / "single").rglob("*") if p.is_file()) == ["b.txt"]
    with pytest.raises(UsageError, match="3 files"):
        art.file()
    with pytest.raises(KeyError):
        art.get_path("missing.txt")
    (root / "stray.txt").write_text("not part of it")
    art.checkout(root)
    assert not (root / "stray.txt").exists() and (root / "a.txt").exists()


@pytest.mark.parametrize("path", ["nested/b.txt", "big.bin"])  # in the database, a file
def test_tampered_blob_fails_loudly(logged, store_dir, tmp_path, tamper, path):
    run, data = logged
    art = run.use_artifact("ds:v0")
    art.download(tmp_path / "first")  # verified once; the cache remembers it
    digest = {e["path"]: e for e in art.manifest}[path]["digest"]
    original = (data / path).read_bytes()
    tamper(digest, original[:-1] + b"X")  # same size, different content
    with pytest.raises(ArtifactError, match=rf"'{path}' is corrupt"):
        art.download(tmp_path / "second")
    with pytest.raises(ArtifactError, match=path):
        labtrack.Api().artifact("ds:v0").download()
    with pytest.raises(ArtifactError, match="corrupt"):
        LocalBlobStore(store_dir / "blobs").get_bytes(digest)
    assert not LocalBlobStore(store_dir / "blobs").verify(digest)


def test_editing_a_downloaded_link_is_detected(logged, tmp_path):
    run, _ = logged
    art = run.use_artifact("ds:v0")
    folder = Path(art.download(tmp_path / "work"))
    target = folder / "big.bin"  # big: a hard link to the stored blob
    target.chmod(0o644)  # a user overriding the read-only protection
    with open(target, "r+b") as fh:
        fh.write(b"EDIT")
    with pytest.raises(ArtifactError, match="'big.bin' is corrupt"):
        art.download(tmp_path / "elsewhere")


def test_editing_a_downloaded_copy_leaves_the_store_intact(logged, tmp_path):
    run, _ = logged
    art = run.use_artifact("ds:v0")
    folder = Path(art.download(tmp_path / "work"))
    target = folder / "a.txt"  # small: a copy out of the blob database
    target.chmod(0o644)
    with open(target, "r+") as fh:
        fh.write("ALPHA")
    assert (Path(art.download(tmp_path / "elsewhere")) / "a.txt").read_text() == "alpha"
    art.download(folder)  # the edited copy no longer matches the cache: written again
    assert target.read_text() == "alpha"


def test_missing_blob_is_named(logged, store_dir):
    run, _ = logged
    art = run.use_artifact("ds:v0")
    digest = {e["path"]: e for e in art.manifest}["a.txt"]["digest"]
    assert LocalBlobStore(store_dir / "blobs").discard(digest) == len("alpha")
    with pytest.raises(ArtifactError, match="'a.txt' is missing from the blob store"):
        art.download()


def test_copy_fallback_when_links_fail(logged, tmp_path, monkeypatch):
    run, data = logged

    def no_links(src, dst, *args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "copies"))
    assert (folder / "nested/b.txt").read_text() == "bravo"
    assert (folder / "big.bin").read_bytes() == (data / "big.bin").read_bytes()

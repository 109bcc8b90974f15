"""Faults across processes: concurrent loggers and a logger killed mid-upload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore
from labtrack.errors import NotFoundError

from .conftest import race

LOGGER = """
import os, sys, time, labtrack
store, tag, go, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
run = labtrack.init(project="proj", dir=store)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(count):
    art = labtrack.Artifact("shared", "dataset", metadata={"writer": tag, "i": i})
    with art.new_file("who.txt") as fh:
        fh.write(f"{tag}-{i}")
    with art.new_file("payload.bin", mode="xb") as fh:
        fh.write(os.urandom(200_000))
    run.log_artifact(art)
    print(art.version, flush=True)
run.finish()
"""


def test_two_processes_logging_the_same_name(store_dir, tmp_path):
    go = tmp_path / "go"
    outputs = race(LOGGER, go, [[str(store_dir), tag, str(go), "4"] for tag in ("a", "b")])
    reported = sorted(v for out in outputs for v in out.split())
    assert reported == sorted(f"v{i}" for i in range(8))  # every version once, none lost
    api = labtrack.Api(store_dir)
    versions = api.artifacts("dataset", "proj/shared")
    assert sorted(v.version for v in versions) == [f"v{i}" for i in range(8)]
    for art in versions:  # each version holds exactly what its writer wrote
        folder = Path(art.download(tmp_path / "check" / art.version))
        meta = art.metadata
        assert (folder / "who.txt").read_text() == f"{meta['writer']}-{meta['i']}"
        assert (folder / "payload.bin").stat().st_size == 200_000
    assert api.artifact("proj/shared:latest").version == "v7"


KILLED = """
import sys, labtrack
run = labtrack.init(project="proj", dir=sys.argv[1])
art = labtrack.Artifact("big", "dataset")
art.add_file(sys.argv[2])
print("logging", flush=True)
run.log_artifact(art)
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_log_leaves_no_version(store_dir, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:  # random, so the blob really has to be written out
        for _ in range(24):
            fh.write(os.urandom(4 << 20))
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(store_dir), str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    blobs = store_dir / "blobs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = [p for p in blobs.glob(".incoming-*") if p.stat().st_size > 0] \
            if blobs.exists() else []
        if partial or proc.poll() is not None:
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the logger finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    api = labtrack.Api(store_dir)
    with pytest.raises(NotFoundError):
        api.artifact("proj/big:latest")
    assert api.artifact_collections("proj") == []
    assert not list((blobs / "sha256").rglob("*/*")) if (blobs / "sha256").exists() else True
    assert LocalBlobStore(blobs).clean_incoming(older_than=0) >= 1

    # a new attempt logs the file completely as v0
    run = labtrack.init(project="proj", dir=store_dir)
    art = labtrack.Artifact("big", "dataset")
    art.add_file(big)
    run.log_artifact(art)
    run.finish()
    assert art.version == "v0" and art.size == big.stat().st_size
    assert not list(blobs.glob(".incoming-*"))

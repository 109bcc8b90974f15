"""Lineage, aliases, the registry, deletion rules and the Api functions."""

from __future__ import annotations

import json

import pytest

import labtrack
from labtrack.artifacts import views
from labtrack.errors import ConflictError, NotFoundError, UsageError


def _log(run, name, type_, files, tmp_path, aliases=None, **kwargs):
    art = labtrack.Artifact(name, type_, **kwargs)
    folder = tmp_path / f"src-{name}-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    art.add_dir(folder)
    return run.log_artifact(art, aliases=aliases)


def test_lineage_dataset_to_model_to_evaluation(make_run, tmp_path):
    prep = make_run(job_type="prep")
    dataset = _log(prep, "mnist", "dataset", {"train.csv": "1,2\n"}, tmp_path)
    train = make_run(job_type="train")
    used = train.use_artifact("mnist:latest", type="dataset")
    assert used.version == dataset.version and used.digest == dataset.digest
    model = _log(train, "net", "model", {"w.bin": "weights"}, tmp_path)
    evaluate = make_run(job_type="eval")
    evaluate.use_artifact("proj/net:v0")

    assert dataset.logged_by() == prep.id and dataset.used_by() == [train.id]
    assert model.logged_by() == train.id and model.used_by() == [evaluate.id]
    train.finish()
    api = labtrack.Api()
    graph = views.lineage_graph(api.store, "proj", "net", "v0")
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    d, m = f"artifact:{dataset.id}", f"artifact:{model.id}"
    assert edges == {
        (f"run:{prep.id}", d, "logged"),
        (d, f"run:{train.id}", "used"),
        (f"run:{train.id}", m, "logged"),
        (m, f"run:{evaluate.id}", "used"),
    }
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert graph["root"] == m
    assert nodes[f"run:{train.id}"]["label"] == train.name
    assert nodes[f"run:{train.id}"]["state"] == "finished"
    assert nodes[d]["label"] == "mnist:v0" and nodes[d]["type"] == "dataset"
    # a depth of one hop stops at the runs next to the model
    near = views.lineage_graph(api.store, "proj", "net", 0, depth=1)
    assert {n["id"] for n in near["nodes"]} == {m, f"run:{train.id}", f"run:{evaluate.id}"}
    assert views.run_artifacts(api.store, train.id) == {
        "logged": [model.to_dict()], "used": [dataset.to_dict()]}


def test_aliases_are_unique_per_artifact(make_run, tmp_path):
    run = make_run()
    v0 = _log(run, "m", "model", {"a": "0"}, tmp_path, aliases=["best"])
    v1 = _log(run, "m", "model", {"a": "1"}, tmp_path, aliases=["best", "staging"])
    api = labtrack.Api()
    assert api.artifact("m:best").version == "v1"
    assert api.artifact("m:v0").to_dict()["aliases"] == []
    assert api.artifact("m:v1").to_dict()["aliases"] == ["latest", "best", "staging"]
    # edit aliases and metadata of a logged version, then save
    old = api.artifact("m:v0")
    old.aliases.append("best")
    old.metadata["acc"] = 0.91
    old.description = "the good one"
    old.save()
    fresh = labtrack.Api().artifact("m:best")
    assert (fresh.version, fresh.metadata, fresh.description) == ("v0", {"acc": 0.91},
                                                                   "the good one")
    assert labtrack.Api().artifact("m:v1").to_dict()["aliases"] == ["latest", "staging"]
    assert v0.version == "v0" and v1.version == "v1"
    with pytest.raises(NotFoundError, match="no version or alias 'prod'"):
        api.artifact("m:prod")
    with pytest.raises(UsageError, match="reserved"):
        old.aliases = ["v7"]


def test_identical_content_moves_latest_and_aliases(make_run, tmp_path):
    run = make_run()
    _log(run, "d", "dataset", {"x": "1"}, tmp_path)
    _log(run, "d", "dataset", {"x": "2"}, tmp_path)
    again = _log(run, "d", "dataset", {"x": "1"}, tmp_path, aliases=["golden"])
    assert again.version == "v0"
    assert labtrack.Api().artifact("d:latest").version == "v0"
    assert labtrack.Api().artifact("d:golden").version == "v0"


def test_model_registry_promotion(make_run, tmp_path):
    run = make_run()
    for i in range(3):
        run.log_model(_write(tmp_path, f"model{i}.bin", f"weights {i}"), "clf")
    api = labtrack.Api()
    for version in ("v0", "v2"):
        art = api.artifact(f"clf:{version}", type="model")
        art.aliases = [*art.aliases, "production"]
        art.save()
    assert api.artifact("clf:production").version == "v2"
    assert "production" not in api.artifact("clf:v0").to_dict()["aliases"]
    path = run.use_model("clf:production")
    assert open(path).read() == "weights 2"
    with pytest.raises(UsageError, match="type 'model', not 'dataset'"):
        run.use_artifact("clf:production", type="dataset")


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_link_artifact_into_a_registry_collection(make_run, tmp_path, blobs):
    run = make_run()
    model = _log(run, "net", "model", {"w": "weights"}, tmp_path)
    before = blobs()
    linked = run.link_artifact(model, "registry/production-net", aliases=["production"])
    assert (linked.project, linked.collection_name, linked.version) == (
        "registry", "production-net", "v0")
    assert linked.digest == model.digest and blobs() == before  # no copy
    assert labtrack.Api().artifact("registry/production-net:production").id == linked.id


def test_delete_rules(make_run, tmp_path, blobs):
    producer = make_run()
    shared = "shared content"
    v0 = _log(producer, "d", "dataset", {"common": shared, "only0": "zero"}, tmp_path)
    _log(producer, "d", "dataset", {"common": shared, "only1": "one"}, tmp_path)
    consumer = make_run()
    consumer.use_artifact("d:v0")
    api = labtrack.Api()
    assert blobs() == 3
    with pytest.raises(ConflictError, match=f"used by 1 run.*{consumer.id}.*force"):
        api.delete_artifact_version("proj/d:v0")
    assert api.artifact("d:v0").version == "v0"  # still there
    result = api.delete_artifact_version("proj/d:v0", force=True)
    assert result["freed"] == 1 and result["freed_bytes"] == len("zero")
    assert blobs() == 2  # the shared blob stays: v1 refers to it
    with pytest.raises(NotFoundError):
        api.artifact("d:v0")
    assert v0.digest != api.artifact("d:latest").digest
    # a blob a run saved as a file is kept even when no artifact refers to it any more
    saved = _write(tmp_path, "only1", "one")
    producer.save(str(saved))
    producer.finish()
    result = api.delete_artifact_version("proj/d:v1")
    assert result["freed"] == 1  # "shared content" freed, "one" kept for the run file
    assert blobs() == 1
    assert api.artifact_collections("proj") == []  # the last version took the artifact along


def test_delete_keeps_a_blob_that_a_run_environment_names(make_run, tmp_path, store_dir,
                                                          monkeypatch):
    """A version whose file has the same bytes as a run's package list (stored once per
    package set, named by the run's environment) is deleted without freeing that blob."""
    import sqlite3

    from labtrack.blobs import LocalBlobStore
    from labtrack.capture._package_blob import REF_KEY

    monkeypatch.setenv("LABTRACK_DISABLE_ENV", "0")
    captured = make_run()
    captured.finish()
    with sqlite3.connect(store_dir / "labtrack.db") as conn:
        (env,) = conn.execute("SELECT environment FROM runs WHERE id=?",
                              (captured.id,)).fetchone()
    digest = json.loads(env)[REF_KEY]["digest"]
    blobs = LocalBlobStore(store_dir / "blobs")
    same = tmp_path / "same.json"
    same.write_bytes(blobs.get_bytes(digest))
    run = make_run()
    art = labtrack.Artifact("pkgs", "dataset")
    art.add_file(str(same))
    run.log_artifact(art)
    run.finish()
    result = labtrack.Api().delete_artifact_version("proj/pkgs:v0")
    assert result["freed"] == 0
    assert blobs.get_bytes(digest) == same.read_bytes()
    packages = labtrack.Api().run(captured.id).environment["packages"]
    assert packages and isinstance(packages, dict)


def test_delete_moves_latest_back(make_run, tmp_path):
    run = make_run()
    _log(run, "d", "dataset", {"x": "1"}, tmp_path)
    _log(run, "d", "dataset", {"x": "2"}, tmp_path)
    api = labtrack.Api()
    api.artifact("d:v1").delete()
    assert api.artifact("d:latest").version == "v0"


def test_api_listing_functions(make_run, tmp_path):
    run = make_run()
    for i in range(2):
        _log(run, "ds", "dataset", {"x": str(i)}, tmp_path)
    _log(run, "net", "model", {"w": "w"}, tmp_path)
    other = make_run(project="other")
    _log(other, "ds", "dataset", {"x": "elsewhere"}, tmp_path)
    api = labtrack.Api()
    assert api.artifact_types("proj") == [{"type": "dataset", "collections": 1},
                                          {"type": "model", "collections": 1}]
    colls = api.artifact_collections("proj", "dataset")
    assert [(c["name"], c["versions"], c["newest"]) for c in colls] == [("ds", 2, 1)]
    assert [a.version for a in api.artifacts("dataset", "proj/ds")] == ["v1", "v0"]
    assert [a.version for a in api.artifact_versions("dataset", "proj/ds")] == ["v1", "v0"]
    assert {a.qualified_name for a in api.artifacts("dataset")} == {"proj/ds:v1", "other/ds:v0"}
    with pytest.raises(NotFoundError, match="several projects"):
        api.artifact("ds:latest")
    by_type = views.list_by_type(api.store, "proj")
    assert sorted(by_type) == ["dataset", "model"]
    detail = views.artifact_detail(api.store, "proj", "ds")
    assert detail["aliases"] == {"latest": 1} and len(detail["versions"]) == 2
    files = views.version_files(api.store, "proj", "ds", 0)
    assert [f["path"] for f in files] == ["x"]


def test_file_previews(make_run, tmp_path):
    run = make_run()
    art = labtrack.Artifact("p", "dataset")
    with art.new_file("t.csv") as fh:
        fh.write("a,b\n" + "".join(f"{i},{i * i}\n" for i in range(100)))
    with art.new_file("readme.txt") as fh:
        fh.write("hello")
    with art.new_file("img.png", mode="xb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    with art.new_file("blob.bin", mode="xb") as fh:
        fh.write(bytes(range(256)))
    run.log_artifact(art)
    store = labtrack.Api().store
    csv_prev = views.file_preview(store, "proj", "p", 0, "t.csv", max_rows=5)
    assert csv_prev["kind"] == "csv" and csv_prev["rows"][:2] == [["a", "b"], ["0", "0"]]
    assert len(csv_prev["rows"]) == 5 and csv_prev["truncated"]
    assert views.file_preview(store, "proj", "p", 0, "readme.txt")["text"] == "hello"
    img = views.file_preview(store, "proj", "p", "latest", "img.png")
    assert img["kind"] == "image" and img["mime"] == "image/png"
    assert views.file_preview(store, "proj", "p", 0, "blob.bin")["kind"] == "binary"
    with pytest.raises(NotFoundError):
        views.file_preview(store, "proj", "p", 0, "nope.txt")

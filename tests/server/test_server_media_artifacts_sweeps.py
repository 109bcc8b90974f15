"""The media, artifacts and sweeps routes over a real store: media logged with labtrack's
own types, artifacts logged and used by runs, a sweep run by an in-process agent."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labtrack
from labtrack.server import pages
from labtrack.server.api.media import histogram_heatmap

XSS = "<img src=x onerror=alert(1)>"


# -- media -----------------------------------------------------------------------------------
def _media_run(store_dir: Path) -> tuple[str, dict[int, np.ndarray]]:
    rng = np.random.default_rng(7)
    samples = {}
    run = labtrack.init(project="media", name="m", dir=store_dir, reinit="create_new")
    for step in range(3):
        samples[step] = rng.normal(step * 2, 1, 400)
        pixels = np.zeros((24, 24, 3), dtype=np.uint8)
        pixels[:, : 8 * (step + 1)] = 255
        run.log({"img": labtrack.Image(pixels, caption=f"{XSS} {step}"),
                 "weights": labtrack.Histogram(samples[step]),
                 "gallery": [labtrack.Image(pixels), labtrack.Image(255 - pixels)]})
    run.log({"scores": labtrack.Table(columns=["name", "v"], data=[[XSS, 1.5], ["b", 2.0]]),
             "cm": labtrack.plot.confusion_matrix(y_true=[0, 1, 1], preds=[0, 1, 0],
                                                  class_names=["x", "y"]),
             "page": labtrack.Html("<p>hi</p><script>alert(1)</script>"),
             "tone": labtrack.Audio(np.sin(np.linspace(0, 200, 4000)), sample_rate=8000)})
    run.finish()
    return run.id, samples


def test_media_keys_and_records(client: Any, store_dir: Path) -> None:
    run_id, _ = _media_run(store_dir)
    keys = {k["key"]: k for k in client.get(f"/api/v1/runs/{run_id}/media").json()}
    assert {k: (v["kind"], v["count"]) for k, v in keys.items()} == {
        "img": ("image", 3), "weights": ("histogram", 3), "gallery": ("list", 3),
        "scores": ("table", 1), "cm": ("plot", 1), "page": ("html", 1), "tone": ("audio", 1)}
    assert (keys["img"]["first_step"], keys["img"]["last_step"]) == (0, 2)

    img = client.get(f"/api/v1/runs/{run_id}/media/img").json()
    assert [i["step"] for i in img["items"]] == [0, 1, 2]
    assert img["items"][1]["record"]["caption"] == f"{XSS} 1"  # stored as given; the UI escapes
    gallery = client.get(f"/api/v1/runs/{run_id}/media/gallery").json()
    assert [len(i["record"]["items"]) for i in gallery["items"]] == [2, 2, 2]
    table = client.get(f"/api/v1/runs/{run_id}/media/scores").json()["items"][0]["record"]
    assert table["columns"] == ["name", "v"] and table["data"][0] == [XSS, 1.5]
    plot = client.get(f"/api/v1/runs/{run_id}/media/cm").json()["items"][0]["record"]
    assert plot["figure"]["data"][0]["type"] == "heatmap"
    assert client.get(f"/api/v1/runs/{run_id}/media/nothing").status_code == 404
    assert client.get("/api/v1/runs/nope/media").status_code == 404


def test_media_bytes_served_for_display_only(client: Any, store_dir: Path) -> None:
    from PIL import Image

    run_id, _ = _media_run(store_dir)
    rec = client.get(f"/api/v1/runs/{run_id}/media/img").json()["items"][2]["record"]
    resp = client.get(f"/api/v1/media/{rec['digest']}.{rec['ext']}")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    assert resp.headers["x-content-type-options"] == "nosniff"
    pixels = np.asarray(Image.open(io.BytesIO(resp.content)))
    assert pixels.shape == (24, 24, 3) and pixels[0, 23, 0] == 255 and pixels[0, 0, 0] == 255
    audio = client.get(f"/api/v1/runs/{run_id}/media/tone").json()["items"][0]["record"]
    wav = client.get(f"/api/v1/media/{audio['digest']}.{audio['ext']}")
    assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
    # HTML is never served for display from our origin; bad and unknown digests are refused
    page = client.get(f"/api/v1/runs/{run_id}/media/page").json()["items"][0]["record"]
    assert client.get(f"/api/v1/media/{page['digest']}.html").status_code == 400
    assert client.get("/api/v1/media/xyz.png").status_code == 400
    assert client.get(f"/api/v1/media/{'0' * 64}.png").status_code == 404


def test_histogram_heatmap_keeps_counts_per_step(client: Any, store_dir: Path) -> None:
    run_id, samples = _media_run(store_dir)
    data = client.get(f"/api/v1/runs/{run_id}/media/weights").json()
    hm = data["heatmap"]
    assert hm["steps"] == [0, 1, 2]
    z = np.array(hm["z"])
    assert z.shape == (64, 3)
    assert z.sum(axis=0).tolist() == [400, 400, 400]  # nothing lost in rebinning
    edges = np.array(hm["edges"])
    assert edges[0] == pytest.approx(min(s.min() for s in samples.values()))
    assert edges[-1] == pytest.approx(max(s.max() for s in samples.values()))
    centres = (edges[:-1] + edges[1:]) / 2
    means = (z * centres[:, None]).sum(axis=0) / 400
    # the mass moves up by about 2 per step, as logged
    assert np.allclose(means, [s.mean() for s in samples.values()], atol=0.2)


def test_histogram_heatmap_places_bins_on_one_grid() -> None:
    items = [{"step": 0, "record": {"bins": [0, 1, 2], "values": [5, 0]}},
             {"step": 5, "record": {"bins": [10, 11], "values": [3]}},
             {"step": 6, "record": {"bins": [1, "NaN"], "values": [9]}}]  # unusable: skipped
    hm = histogram_heatmap(items, bins=11)
    assert hm is not None and hm["steps"] == [0, 5]
    assert hm["edges"][0] == 0 and hm["edges"][-1] == 11
    assert hm["z"][0] == [5, 0] and hm["z"][10] == [0, 3]
    assert sum(map(sum, hm["z"])) == 8
    assert histogram_heatmap([]) is None
    many = [{"step": i, "record": {"bins": [0, 1], "values": [1]}} for i in range(1000)]
    kept = histogram_heatmap(many, max_steps=50)
    assert kept is not None and len(kept["steps"]) == 50
    assert kept["steps"][0] == 0 and kept["steps"][-1] == 999


# -- artifacts ---------------------------------------------------------------------------------
def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _artifacts(store_dir: Path, tmp_path: Path) -> dict[str, str]:
    prep = labtrack.init(project="art", name="prep", job_type="prep", dir=store_dir,
                         reinit="create_new")
    for v in range(2):
        art = labtrack.Artifact("digits", type="dataset", metadata={"rows": 10 + v, "note": XSS})
        with art.new_file("README.md") as f:
            f.write(f"version {v}\n")
        with art.new_file("labels.csv") as f:
            f.write("id,label\n" + "\n".join(f"{i},{i % 3}" for i in range(60 + v)))
        with art.new_file("img/sample.png", mode="xb") as f:
            f.write(_png())
        prep.log_artifact(art, aliases=["clean"] if v == 0 else None)
    prep.finish()
    train = labtrack.init(project="art", name="train", job_type="train", dir=store_dir,
                          reinit="create_new")
    train.use_artifact("digits:clean")
    model = tmp_path / "model.bin"
    model.write_bytes(b"\x00weights" * 50)
    train.log_model(str(model), "net", aliases=["candidate"])
    train.finish()
    return {"prep": prep.id, "train": train.id}


def test_artifacts_by_type_detail_and_files(client: Any, store_dir: Path,
                                            tmp_path: Path) -> None:
    _artifacts(store_dir, tmp_path)
    types = client.get("/api/v1/projects/art/artifacts").json()
    assert [(t["type"], [a["name"] for a in t["artifacts"]]) for t in types] == [
        ("dataset", ["digits"]), ("model", ["net"])]
    assert types[0]["artifacts"][0]["versions"] == 2
    detail = client.get("/api/v1/projects/art/artifacts/digits").json()
    assert [v["version"] for v in detail["versions"]] == [1, 0]
    assert detail["aliases"] == {"clean": 0, "latest": 1}
    assert detail["versions"][1]["metadata"] == {"rows": 10, "note": XSS}
    files = client.get("/api/v1/projects/art/artifacts/digits/versions/clean/files").json()
    assert [f["path"] for f in files] == ["README.md", "img/sample.png", "labels.csv"]
    # the same version by number, "v" number and alias
    for sel in ("0", "v0", "clean"):
        got = client.get(f"/api/v1/projects/art/artifacts/digits/versions/{sel}/files/README.md")
        assert got.status_code == 200 and got.content == b"version 0\n"
        assert "attachment" in got.headers["content-disposition"]
    png = client.get("/api/v1/projects/art/artifacts/digits/versions/latest/files/img/sample.png")
    assert png.content == _png()
    base = "/api/v1/projects/art/artifacts/digits"
    assert client.get(f"{base}/versions/v0/files/missing.txt").status_code == 404
    assert client.get(f"{base}/versions/v7/files").status_code == 404
    assert client.get("/api/v1/projects/art/artifacts/nothing").status_code == 404


def test_artifact_previews(client: Any, store_dir: Path, tmp_path: Path) -> None:
    import base64

    _artifacts(store_dir, tmp_path)
    base = "/api/v1/projects/art/artifacts/digits/versions/latest/preview"
    csv = client.get(base, params={"path": "labels.csv"}).json()
    assert csv["kind"] == "csv" and csv["rows"][:2] == [["id", "label"], ["0", "0"]]
    assert len(csv["rows"]) == 50 and csv["truncated"] is True  # 62 lines, first 50 shown
    text = client.get(base, params={"path": "README.md"}).json()
    assert (text["kind"], text["text"]) == ("text", "version 1\n")
    image = client.get(base, params={"path": "img/sample.png"}).json()
    assert image["kind"] == "image" and image["mime"] == "image/png"
    assert base64.b64decode(image["data_base64"]) == _png()
    assert client.get(base, params={"path": "nope"}).status_code == 404


def test_lineage_and_run_artifacts(client: Any, store_dir: Path, tmp_path: Path) -> None:
    ids = _artifacts(store_dir, tmp_path)
    graph = client.get("/api/v1/projects/art/artifacts/digits/versions/v0/lineage").json()
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    edges = {(labels[e["source"]], labels[e["target"]], e["kind"]) for e in graph["edges"]}
    assert edges == {("prep", "digits:v0", "logged"), ("digits:v0", "train", "used"),
                     ("train", "net:v0", "logged"), ("prep", "digits:v1", "logged")}
    assert labels[graph["root"]] == "digits:v0"
    shallow = client.get("/api/v1/projects/art/artifacts/digits/versions/v0/lineage",
                         params={"depth": 1}).json()
    assert {(e["source"], e["target"]) for e in shallow["edges"]} == {
        (f"run:{ids['prep']}", graph["root"]), (graph["root"], f"run:{ids['train']}")}
    train = client.get(f"/api/v1/runs/{ids['train']}/artifacts").json()
    assert [(v["name"], v["version"]) for v in train["used"]] == [("digits", 0)]
    assert [(v["name"], v["aliases"]) for v in train["logged"]] == [
        ("net", ["latest", "candidate"])]
    prep = client.get(f"/api/v1/runs/{ids['prep']}/artifacts").json()
    assert sorted(v["version"] for v in prep["logged"]) == [0, 1] and prep["used"] == []
    assert client.get("/api/v1/runs/nope/artifacts").status_code == 404


# -- sweeps --------------------------------------------------------------------------------------
def _sweep(store_dir: Path) -> str:
    def train() -> None:
        run = labtrack.init()
        lr, batch = run.config["lr"], run.config["batch"]
        run.log({"loss": abs(lr - 0.1) * 10 + batch / 100})
        run.finish()

    sweep_id = labtrack.sweep({"name": f"grid {XSS}", "method": "grid",
                               "metric": {"name": "loss", "goal": "minimize"},
                               "parameters": {"lr": {"values": [0.01, 0.1, 0.3]},
                                              "batch": {"values": [8, 32]}}},
                              project="sw", dir=store_dir)
    labtrack.agent(sweep_id, function=train, dir=store_dir)
    return sweep_id


def test_sweep_list_and_page(client: Any, store_dir: Path) -> None:
    sweep_id = _sweep(store_dir)
    listed = client.get("/api/v1/projects/sw/sweeps").json()
    assert [s["id"] for s in listed] == [sweep_id]
    assert listed[0]["name"] == f"grid {XSS}" and listed[0]["run_count"] == 6
    assert listed[0]["planned"] == 6 and listed[0]["metric"]["goal"] == "minimize"
    assert listed[0]["best"]["params"] == {"lr": 0.1, "batch": 8}
    page = client.get(f"/api/v1/sweeps/{sweep_id}").json()
    runs = page["runs"]
    assert len(runs) == 6 and all(r["state"] == "finished" for r in runs)
    losses = [abs(r["params"]["lr"] - 0.1) * 10 + r["params"]["batch"] / 100 for r in runs]
    assert [r["value"] for r in runs] == pytest.approx(losses)
    best = page["best_so_far"]
    assert best["best"] == pytest.approx(list(np.minimum.accumulate(losses)))
    assert {i["param"] for i in page["importance"]} == {"lr", "batch"}
    assert json.dumps(page, allow_nan=False)  # no NaN reaches the page
    assert client.get("/api/v1/sweeps/nope").status_code == 404
    assert client.get("/api/v1/projects/nothing/sweeps").json() == []


def test_page_routes_answer_the_shell(client: Any, store_dir: Path, make_run: Any) -> None:
    make_run(project="proj")
    sweep_id = _sweep(store_dir)
    for path in ("/projects/proj/artifacts", "/projects/proj/artifacts/some-name",
                 "/projects/proj/sweeps", f"/sweeps/{sweep_id}"):
        resp = client.get(path)
        assert resp.status_code == 200 and 'data-status="200"' in resp.text, path
    for path in ("/sweeps/nope", "/projects/nothing/sweeps"):
        resp = client.get(path)
        assert resp.status_code == 404 and 'data-status="404"' in resp.text, path


def test_shell_preloads_modules_and_plotly_on_chart_pages(client: Any, make_run: Any) -> None:
    run_id = make_run(project="proj")
    modules = sorted(p.relative_to(pages.STATIC_DIR).as_posix()
                     for p in (pages.STATIC_DIR / "js").rglob("*.js"))
    plotly = '<link rel="preload" as="script" href="/vendor/plotly.min.js"'
    chart_pages = ("/projects/proj/charts", f"/runs/{run_id}", "/compare",
                   "/projects/proj/reports/new")
    for path in chart_pages:
        html = client.get(path).text
        assert plotly in html, path
        # plotly.js is asked for before the modules, which would otherwise hold the connections
        assert html.index(plotly) < html.index('rel="modulepreload"'), path
        for module in modules:
            assert f'<link rel="modulepreload" href="/static/{module}">' in html, (path, module)
    for path in ("/", "/projects/proj", "/projects/proj/artifacts", "/projects/nothing/charts"):
        html = client.get(path).text
        assert plotly not in html and "{{" not in html, path
        assert 'rel="modulepreload" href="/static/js/app.js"' in html, path


def test_plotly_is_the_package_bundle_with_its_factory_parenthesised(client: Any) -> None:
    original = pages.plotly_path().read_bytes()
    resp = client.get("/vendor/plotly.min.js")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/javascript")
    served = resp.content
    # the only change: "(root, factory)" gets "(() => {...})" instead of "() => {...}"
    assert len(served) == len(original) + 2
    assert served.replace(b"this, (() => {\n", b"this, () => {\n", 1)[:-6] + b"\n}));" == original
    etag = resp.headers["etag"]
    again = client.get("/vendor/plotly.min.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content

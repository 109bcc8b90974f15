"""Artifacts and sweeps in Chromium: the project's tabs, the artifact page (versions,
metadata, previews, a lineage graph to click through), the run's artifacts, and the sweep
page (parallel coordinates, best so far, importance, its runs). Hostile names stay text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.browser

FLAG = "window.__pwned"
XSS = f"<img src=x onerror=\"{FLAG}=1\">"


@pytest.fixture(scope="module")
def lab(ui: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Artifacts (a dataset in two versions, a model) and a finished grid sweep."""
    import numpy as np
    from PIL import Image

    import labtrack

    ids: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as mp:
        for name in ("LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV"):
            mp.setenv(name, "1")
        prep = labtrack.init(project="lab", name="prep", job_type="prep", dir=ui.dir,
                             reinit="create_new")
        for v in range(2):
            art = labtrack.Artifact("digits", type="dataset", description=f"digits {XSS}",
                                    metadata={"rows": 100 + v, "source": XSS})
            with art.new_file("README.md") as f:
                f.write(f"Digits, version {v}. {XSS}\n")
            with art.new_file("labels.csv") as f:
                f.write("id,label\n" + "\n".join(f"{i},{XSS if i == 1 else i % 10}"
                                                 for i in range(20)))
            buf = io.BytesIO()
            Image.fromarray(np.full((10, 10), 90 + 60 * v, dtype=np.uint8)).save(buf, "PNG")
            with art.new_file("sample.png", mode="xb") as f:
                f.write(buf.getvalue())
            prep.log_artifact(art, aliases=["clean"] if v == 0 else None)
        prep.finish()
        train = labtrack.init(project="lab", name="train", job_type="train", dir=ui.dir,
                              reinit="create_new")
        train.use_artifact("digits:latest")
        model = tmp_path_factory.mktemp("model") / "model.bin"
        model.write_bytes(b"weights" * 64)
        train.log_model(str(model), "net", aliases=["candidate"])
        train.finish()
        ids.update(prep=prep.id, train=train.id)

        def objective() -> None:
            run = labtrack.init()
            run.log({"loss": (run.config["lr"] - 0.1) ** 2 * 100 + run.config["width"] / 64})
            run.finish()

        ids["sweep"] = labtrack.sweep(
            {"name": f"search {XSS}", "method": "grid",
             "metric": {"name": "loss", "goal": "minimize"},
             "parameters": {"lr": {"values": [0.001, 0.01, 0.1, 1.0]},
                            "width": {"values": [32, 64]}}},
            project="lab", dir=ui.dir)
        labtrack.agent(ids["sweep"], function=objective, dir=ui.dir)
    yield ids


def test_artifacts_tab_and_artifact_page(page: Any, ui: Any, lab: dict[str, str],
                                         shot: Any) -> None:
    page.goto(f"{ui.url}/projects/lab/artifacts")
    page.wait_for_selector("[data-role=artifacts] [data-role=artifact-list]")
    assert page.locator("[data-type]").evaluate_all("(els) => els.map((e) => e.dataset.type)") \
        == ["dataset", "model"]
    assert XSS in page.locator("[data-type=dataset]").inner_text()  # the description, as text
    shot(page, "artifacts_tab")
    page.locator("a.run-link", has_text="digits").click()
    page.wait_for_selector("[data-role=lineage-graph]")
    assert page.locator("[data-role=versions] .version-item").count() == 2
    assert page.locator(".version-item.active").get_attribute("data-version") == "1"  # latest
    detail = page.locator("[data-role=version-detail]")
    assert "digits:v1" in detail.inner_text() and XSS in detail.inner_text()
    assert page.locator("[data-role=metadata]").inner_text().count(XSS) == 1
    assert page.locator("[data-role=logged-by]").inner_text() == "prep"

    # previews: CSV rows as a table, text, an image
    row = page.locator("[data-role=files] tr[data-path='labels.csv']")
    row.locator("[data-role=preview-btn]").click()
    csv = page.locator("[data-role=preview-csv]")
    csv.wait_for()
    assert csv.locator("tbody tr").count() == 20 and XSS in csv.inner_text()
    page.locator("[data-role=files] tr[data-path='sample.png'] [data-role=preview-btn]").click()
    page.wait_for_function("document.querySelector('[data-role=preview-image]')?.naturalWidth"
                           " === 10")
    page.locator("[data-role=files] tr[data-path='README.md'] [data-role=preview-btn]").click()
    page.wait_for_selector("[data-role=preview-text]")
    assert page.locator("[data-role=preview-text]").inner_text().startswith("Digits, version 1.")
    shot(page, "artifact_page")

    # another version: its own aliases and files, kept in the address
    page.locator(".version-item[data-version='0']").click()
    page.wait_for_function("location.search === '?version=v0'")
    page.wait_for_function("document.querySelector('[data-role=version-detail]').textContent"
                           ".includes('digits:v0')")
    assert "clean" in page.locator(".version-item.active").inner_text()

    # the lineage graph: prep logged both versions; click the run that used v1
    page.goto(f"{ui.url}/projects/lab/artifacts/digits?version=v1")
    graph = page.locator("[data-role=lineage-graph]")
    graph.wait_for()
    nodes = graph.locator(".lineage-node").evaluate_all("(els) => els.map((e) => e.dataset.node)")
    assert set(nodes) >= {f"run:{lab['prep']}", f"run:{lab['train']}"}
    assert graph.locator(".lineage-edge").count() == 4  # prep->v0, prep->v1, v1->train->net
    graph.locator(f".lineage-node[data-node='run:{lab['train']}']").click()
    page.wait_for_function(f"location.pathname === '/runs/{lab['train']}'")
    page.wait_for_selector("[data-role=run-name]")
    assert page.evaluate(FLAG) is None


def test_run_artifacts_tab(page: Any, ui: Any, lab: dict[str, str], shot: Any) -> None:
    page.goto(f"{ui.url}/runs/{lab['train']}?tab=artifacts")
    page.wait_for_selector("[data-role=run-artifacts]")
    assert "digits:v1" in page.locator("[data-role=artifacts-used]").inner_text()
    logged = page.locator("[data-role=artifacts-logged]").inner_text()
    assert "net:v0" in logged and "candidate" in logged
    shot(page, "run_artifacts")
    page.locator("[data-role=artifacts-logged] a", has_text="net").click()
    page.wait_for_selector("[data-role=artifact-name]")
    assert page.locator("[data-role=artifact-name]").inner_text() == "net"


def test_sweeps_tab_and_sweep_page(page: Any, ui: Any, lab: dict[str, str], shot: Any) -> None:
    page.goto(f"{ui.url}/projects/lab/sweeps")
    listed = page.locator("[data-role=sweep-list] tbody tr")
    listed.first.wait_for()
    assert listed.count() == 1 and XSS in listed.inner_text() and "8 of 8 runs" in \
        listed.inner_text()
    listed.locator("a.run-link").click()
    # the first sweep page imports scikit-learn on the server, and draws WebGL in software
    page.wait_for_selector("[data-role=importance].js-plotly-plot", timeout=30_000)
    page.wait_for_selector("[data-role=best-so-far].js-plotly-plot")
    assert page.locator("[data-role=sweep-name]").inner_text() == f"search {XSS}"
    assert page.locator("[data-role=best-value]").inner_text() == "0.5"  # lr 0.1, width 32
    best = page.evaluate("document.querySelector('[data-role=best-so-far]').data[1].y")
    assert best == sorted(best, reverse=True) and best[-1] == 0.5
    bars = page.evaluate("document.querySelector('[data-role=importance]').data[0].y")
    assert sorted(bars) == ["lr", "width"]
    par = page.evaluate("document.querySelector('[data-role=parcoords]').data?.[0]"
                        ".dimensions.map((d) => d.label)")
    assert par[-1].startswith("loss") and "lr (log)" in par  # lr spans decades
    runs = page.locator("[data-role=sweep-runs] tbody tr")
    assert runs.count() == 8
    page.locator("[data-role=sweep-runs] th", has_text="loss").click()
    assert runs.first.locator("td").last.inner_text() == "0.5"
    shot(page, "sweep_page")
    # the project's runs table, filtered to the sweep
    page.locator("[data-role=open-runs]").click()
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    page.wait_for_function("document.querySelectorAll('[data-role=runs-table] tbody tr')"
                           ".length === 8")
    assert page.evaluate(FLAG) is None


def test_unknown_sweep_and_artifact(page: Any, ui: Any, lab: dict[str, str]) -> None:
    page.goto(f"{ui.url}/sweeps/nope")
    page.wait_for_selector(".notfound")
    page.goto(f"{ui.url}/projects/lab/artifacts/nothing")
    page.wait_for_selector(".notfound")

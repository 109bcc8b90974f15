"""Import TensorBoard event files: scalars, histograms, images and hparams.

Every folder under LOGDIR that holds ``*tfevents*`` files is one run, named by
its path relative to LOGDIR; the project is LOGDIR's name unless given. Events
are read with TensorBoard's own loader (``pip install tensorboard``), whose
compatibility layer turns TF1 summaries (``simple_value``, ``histo``,
``image``, as PyTorch's ``SummaryWriter`` writes) and TF2 tensor summaries into
one form, so both are imported alike:

* scalars become series, with each event's step and wall time;
* histograms become :class:`labtrack.Histogram` media (more than 512 buckets
  are merged into at most 512);
* images become :class:`labtrack.Image` media (``tag/i`` when an event holds
  several);
* hparams (``add_hparams``) become the run's config.

Text, audio and other plugins' data are left out; the report notes which tags.
Run ids hash the run folder's absolute path, so importing again skips them.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ._imported import ImportedRun, ImportReport, Progress, RunWriter, derive_run_id, write_runs

MAX_BINS = 512


def find_runs(logdir: Path) -> list[Path]:
    """Folders under ``logdir`` (itself included) that hold event files, sorted."""
    found = []
    for root, dirs, files in os.walk(logdir):
        dirs.sort()
        if any("tfevents" in name for name in files):
            found.append(Path(root))
    return found


def import_tensorboard(
    logdir: str | Path,
    store_dir: str | Path | None = None,
    *,
    project: str | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every run under a TensorBoard log directory.

    Args:
        logdir: the folder given to ``tensorboard --logdir``.
        store_dir: the labtrack store (default ``LABTRACK_DIR``).
        project: project name (default: the log directory's name).
        replace: re-import runs that are already in the store.
        progress: called as ``progress(done, total, label)``.
    Raises:
        UsageError: the folder does not exist, holds no event file, or tensorboard
            is not installed.
    """
    root = Path(logdir).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"{logdir} is not a folder")
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise UsageError("importing TensorBoard logs needs tensorboard: pip install tensorboard"
                         ) from None
    runs = find_runs(root)
    if not runs:
        raise UsageError(f"no TensorBoard event files (*tfevents*) under {root}")
    project = project or root.name or "tensorboard"
    report = ImportReport()
    with RunWriter(store_dir, replace=replace) as writer:
        jobs = (
            (_name(root, path), derive_run_id("tb", str(path)),
             _loader(path, _name(root, path), project, report))
            for path in runs
        )
        write_runs(jobs, writer, report, progress, total=len(runs))
    return report


def _name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return root.name if rel == "." else rel


def _loader(path: Path, name: str, project: str, report: ImportReport) -> Any:
    def load() -> ImportedRun | None:
        run = read_run(path, name, project, report)
        if not (run.series or run.media or run.config):
            report.notes.append(f"{name}: no scalars, histograms, images or hparams; left out")
            return None
        return run

    return load


def read_run(path: Path, name: str, project: str, report: ImportReport | None = None
             ) -> ImportedRun:
    """Read one run folder's event files (in file name order) into an :class:`ImportedRun`."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    run = ImportedRun(run_id=derive_run_id("tb", str(path)), project=project, name=name,
                      state="finished")
    run.environment = {"imported_from": {"source": "tensorboard", "path": str(path)}}
    skipped: set[str] = set()
    first = last = None
    for file in sorted(p for p in path.iterdir() if p.is_file() and "tfevents" in p.name):
        for event in EventFileLoader(str(file)).Load():
            when = float(event.wall_time)
            first = when if first is None else min(first, when)
            last = when if last is None else max(last, when)
            for value in event.summary.value:
                _add_value(run, value, int(event.step), when, skipped)
    run.created_at, run.finished_at = first, last
    if skipped and report is not None:
        report.notes.append(f"{name}: left out {', '.join(sorted(skipped))} "
                            "(text, audio or unknown plugin data)")
    return run


def _add_value(run: ImportedRun, value: Any, step: int, when: float, skipped: set[str]) -> None:
    from tensorboard.util import tensor_util

    plugin = value.metadata.plugin_data.plugin_name
    if plugin == "hparams":
        run.config.update(_hparams(value.metadata.plugin_data.content))
        return
    if not value.HasField("tensor"):
        skipped.add(value.tag)
        return
    array = tensor_util.make_ndarray(value.tensor)
    if plugin == "scalars":
        run.add_point(value.tag, step, float(array), when)
    elif plugin == "histograms" and array.ndim == 2 and array.shape[1] == 3:
        if len(array):
            run.add_media(value.tag, step, histogram(array))
    elif plugin == "images" and array.ndim == 1 and len(array) >= 3:
        images = array[2:]
        for i, encoded in enumerate(images):
            key = value.tag if len(images) == 1 else f"{value.tag}/{i}"
            run.add_media(key, step, _image(bytes(encoded)))
    else:
        skipped.add(value.tag)


def histogram(buckets: Any) -> Any:
    """A :class:`labtrack.Histogram` from TensorBoard's ``[[left, right, count], ...]``."""
    import numpy as np

    from ..media import Histogram

    buckets = np.asarray(buckets, dtype=np.float64)
    edges = np.append(buckets[:, 0], buckets[-1, 1])
    counts = buckets[:, 2]
    edges = np.maximum.accumulate(edges)  # float32 rounding must not make edges decrease
    if len(counts) > MAX_BINS:
        factor = -(-len(counts) // MAX_BINS)
        starts = np.arange(0, len(counts), factor)
        counts = np.add.reduceat(counts, starts)
        edges = np.append(edges[starts], edges[-1])
    return Histogram(np_histogram=(counts, edges))


def _image(encoded: bytes) -> Any:
    from PIL import Image as PILImage

    from ..media import Image

    with PILImage.open(io.BytesIO(encoded)) as pil:
        pil.load()
        return Image(pil.copy())


def _hparams(content: bytes) -> dict[str, Any]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    if not data.HasField("session_start_info"):
        return {}
    out: dict[str, Any] = {}
    for key, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            number = value.number_value
            out[key] = int(number) if number.is_integer() and abs(number) < 2**53 else number
        elif kind == "string_value":
            out[key] = value.string_value
        elif kind == "bool_value":
            out[key] = value.bool_value
    return out

"""One flusher thread per process flushes every run; finish() flushes on its own thread."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

import labtrack
from labtrack.flusher import Flusher


class _Idle:
    """A registered writer that never needs flushing: it keeps a flusher's thread alive."""

    flush_interval = 60.0

    def warm_up(self) -> None: ...
    def flush_safely(self) -> None: ...


def _flusher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "labtrack-flusher"]


def _indexed_points(store: Path, run_id: str, key: str) -> int:
    conn = sqlite3.connect(store / "labtrack.db")
    try:
        row = conn.execute("SELECT count FROM series WHERE run_id=? AND key=?",
                           (run_id, key)).fetchone()
    except sqlite3.OperationalError:  # the first writer is still creating the schema
        return 0
    finally:
        conn.close()
    return int(row[0]) if row else 0


def test_many_runs_share_one_thread_and_start_none_of_their_own(
        store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_DISABLE_GIT", "1")  # else each run captures git on a thread
    labtrack.init(project="p", name="first").finish()  # the store exists, the thread runs
    before = threading.active_count()
    for i in range(20):
        run = labtrack.init(project="p", name=f"r{i}", config={"i": i})
        run.log({"x": float(i)})
        assert threading.active_count() == before  # no writer thread per run
        run.finish()
    assert len(_flusher_threads()) == 1
    runs = labtrack.Api().runs(project="p")
    assert sorted(r.summary["x"] for r in runs if r.name.startswith("r")) == \
        [float(i) for i in range(20)]
    assert all(r.state == "finished" for r in runs)


def test_live_runs_reach_the_index_without_finishing(store_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_FLUSH_INTERVAL", "0.1")
    a = labtrack.init(project="p", name="a")
    b = labtrack.init(project="p", name="b", reinit="create_new")
    for i in range(50):
        a.log({"x": float(i)})
        b.log({"y": float(i)})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
            _indexed_points(store_dir, a.id, "x") == 50
            and _indexed_points(store_dir, b.id, "y") == 50):
        time.sleep(0.05)
    assert _indexed_points(store_dir, a.id, "x") == 50
    assert _indexed_points(store_dir, b.id, "y") == 50
    a.finish()
    b.finish()


def test_a_full_buffer_is_flushed_by_log_itself(store_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_MAX_BUFFER", "100")
    monkeypatch.setenv("LABTRACK_FLUSH_INTERVAL", "1")
    run = labtrack.init(project="p", name="full")
    for i in range(1000):
        run.log({"x": float(i)})
        assert len(run._writer.rows) <= 100
    run.finish()
    assert list(labtrack.Api().run(run.id).series("x").values) == [float(i) for i in range(1000)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_flusher(store_dir: Path) -> None:
    labtrack.init(project="p", name="parent").finish()
    pid = os.fork()
    if pid == 0:  # the child: only this thread survived the fork
        code = 1
        try:
            run = labtrack.init(project="p", name="child")
            run.log({"x": 1.0})
            run.finish()
            code = 0 if len(_flusher_threads()) == 1 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child = [r for r in labtrack.Api().runs(project="p") if r.name == "child"]
    assert child and child[0].summary["x"] == 1.0 and child[0].state == "finished"


class _Slow:
    """A writer stand-in whose flushes take a while."""

    flush_interval = 0.05

    def __init__(self) -> None:
        self.flushes = 0
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1

    def flush_safely(self) -> None:
        self.flushes += 1
        time.sleep(0.2)


def test_flusher_warms_flushes_and_runs_tasks_only_when_idle() -> None:
    flusher = Flusher()
    slow = _Slow()
    flusher.register(slow)
    deadline = time.monotonic() + 5
    while slow.flushes == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slow.warmed == 1 and slow.flushes >= 1
    time.sleep(0.05)  # inside a flush: a task is refused, the caller runs it itself
    assert flusher.call_soon(lambda: None) is None
    flusher.forget(slow)
    time.sleep(0.3)  # the flush under way ends; nothing else is due
    ran: list[str] = []
    done = flusher.call_soon(lambda: ran.append(threading.current_thread().name))
    assert done is not None and done.wait(5)
    assert ran == ["labtrack-flusher"]
    flushes = slow.flushes
    time.sleep(0.2)
    assert slow.flushes == flushes  # forgotten: no more flushes


def test_finish_waits_at_most_its_timeout_for_a_flush_stuck_on_another_thread(
        store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = labtrack.init(project="p", name="stuck", settings={"finish_timeout": 0.3})
    run.log({"x": 1.0})
    lock = run._writer._flush_lock
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    run.finish()
    assert time.monotonic() - started < 3
    assert "not fully updated" in capsys.readouterr().err
    release.set()
    holder.join()
    deadline = time.monotonic() + 10  # the flusher does the last flush once it can
    while time.monotonic() < deadline and not run._writer._closed:
        time.sleep(0.05)
    assert run._writer._closed
    assert labtrack.Api().run(run.id).summary["x"] == 1.0



def test_finish_from_inside_a_flush_on_the_same_thread_returns(
        store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As when SIGTERM's handler finishes the run while log() flushes a full buffer."""
    run = labtrack.init(project="p", name="reentered")
    run.log({"x": 1.0})
    writer = run._writer
    real_encode = writer._encode
    finished: list[bool] = []

    def encode_then_finish(*args: object) -> object:
        out = real_encode(*args)  # type: ignore[arg-type]
        if not finished:
            finished.append(True)
            run.finish()  # the handler, inside this flush (locks held)
        return out

    writer._encode = encode_then_finish  # type: ignore[method-assign]
    worker = threading.Thread(target=writer.flush_safely)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "finish() inside a flush hung"
    assert finished and run.finished
    deadline = time.monotonic() + 10  # the flusher makes the last flush afterwards
    while time.monotonic() < deadline and not writer._closed:
        time.sleep(0.05)
    assert writer._closed
    assert labtrack.Api().run(run.id).state == "finished"


def test_later_runs_tasks_in_order_and_call_soon_does_not_queue_behind_them() -> None:
    flusher = Flusher()
    assert flusher.later(lambda: None) is False  # no thread yet: the caller decides

    idle = _Idle()
    flusher.register(idle, warm=False)  # starts the thread
    started, release, ran = threading.Event(), threading.Event(), []
    try:
        assert flusher.later(lambda: (started.set(), release.wait(10), ran.append("slow")))
        assert flusher.later(lambda: ran.append("next"))
        assert started.wait(10)
        # a slow task (a WAL checkpoint) is running: a caller that needs its task done now
        # (a run's last fsync) is told to run it itself instead of waiting behind it
        assert flusher.call_soon(lambda: None) is None
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while ran != ["slow", "next"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == ["slow", "next"]
    done = flusher.call_soon(lambda: ran.append("soon"))
    assert done is not None and done.wait(10) and ran[-1] == "soon"
    flusher.forget(idle)


def test_a_failing_task_does_not_stop_the_thread() -> None:
    flusher = Flusher()

    idle = _Idle()
    flusher.register(idle, warm=False)
    ran: list[str] = []
    try:
        assert flusher.later(lambda: 1 / 0)
        done = None
        deadline = time.monotonic() + 10
        while done is None and time.monotonic() < deadline:  # declined while a task runs
            done = flusher.call_soon(lambda: ran.append("after"))
        assert done is not None and done.wait(10)
        assert ran == ["after"]
    finally:
        flusher.forget(idle)

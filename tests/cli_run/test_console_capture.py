"""ConsoleCapture: line order across streams, progress lines, secrets, the size cap."""

from __future__ import annotations

import os
import threading

import pytest

from labtrack.console import ConsoleCapture, pump


def test_lines_are_stored_in_the_order_they_complete() -> None:
    cap = ConsoleCapture()
    cap.feed(b"epoch 1 ", "stdout")  # a line written in two pieces ...
    cap.feed(b"warning: slow\n", "stderr")  # ... with a stderr line completed in between
    cap.feed(b"done\nepoch 2 done\n", "stdout")
    assert cap.getvalue() == b"warning: slow\nepoch 1 done\nepoch 2 done\n"
    assert cap.tail("stderr") == "warning: slow"


def test_progress_bars_keep_their_last_state_and_unfinished_lines_are_kept() -> None:
    cap = ConsoleCapture()
    cap.feed(b"\r 10%|#   |\r 60%|####|", "stderr")
    cap.feed(b"\r100%|####|\r\n", "stderr")
    cap.feed(b"crlf line\r\n", "stdout")
    cap.feed(b"last words", "stdout")
    cap.close()
    assert cap.getvalue() == b"100%|####|\ncrlf line\nlast words\n"


def test_endless_progress_line_stays_bounded() -> None:
    cap = ConsoleCapture()
    for i in range(20000):
        cap.feed(f"\rstep {i:06d}".encode(), "stderr")
    cap.close()
    assert cap.getvalue() == b"step 019999\n"


def test_secret_values_are_masked() -> None:
    cap = ConsoleCapture(secrets=[b"hunter2-abc", b"hunter2"])
    cap.feed(b"login with hunter2-abc and hunter2\n", "stdout")
    assert cap.getvalue() == b"login with *** and ***\n"


@pytest.mark.parametrize("cap_bytes", [100, 1001])
def test_cap_keeps_head_and_tail_and_says_how_much_is_missing(cap_bytes: int) -> None:
    cap = ConsoleCapture(max_bytes=cap_bytes)
    lines = [f"line {i:04d}\n".encode() for i in range(500)]
    for line in lines:
        cap.feed(line, "stdout")
    full = b"".join(lines)
    value = cap.getvalue()
    half = cap_bytes // 2
    head, _, rest = value.partition(b"\n[labtrack: ")
    note, _, tail = rest.partition(b"]\n")
    assert head == full[:half]
    assert tail == full[-(cap_bytes - half):]
    assert note.startswith(f"{len(full) - cap_bytes} bytes left out here".encode())
    assert cap.total == len(full)
    live = cap.getvalue(last=50)
    assert live.endswith(full[-50:]) and b"live view" in live


def test_pump_copies_to_the_sink_and_feeds_the_capture() -> None:
    read_fd, write_fd = os.pipe()
    sink_r, sink_w = os.pipe()
    cap = ConsoleCapture()
    with os.fdopen(read_fd, "rb", buffering=0) as source, \
            os.fdopen(sink_w, "wb", buffering=0) as sink:
        thread = threading.Thread(target=pump, args=(source, "stdout", cap, sink,
                                                     threading.Lock()))
        thread.start()
        os.write(write_fd, b"a\nb")
        os.write(write_fd, b"c\n")
        os.close(write_fd)
        thread.join(5)
    assert os.read(sink_r, 100) == b"a\nbc\n"
    os.close(sink_r)
    assert cap.getvalue() == b"a\nbc\n"

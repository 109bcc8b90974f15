"""Reading small files into pack files, here or in a worker process.

Storing many small files is CPU work: four system calls and a sha256 per file,
and writing the pack. One Python thread cannot use a second core for it (a
second thread waits on the GIL after each system call, which measured slower
than one thread), so when an artifact has thousands of small files a **worker
process** takes half of them: it reads, checks and hashes its files and writes
its own packs, while this process does the other half (bench/ARTIFACTS.md).
Its packs are indexed with this process's, in the same transaction; if it
fails in any way, this process stores its half itself.

This file is also the worker's script: it imports nothing outside the standard
library and runs as ``python -I -S _packing.py JOB`` (no site packages, quick to
start). The job file holds ``"pack size, largest small file" NUL``, then ``path NUL
"size mtime ctime ino dev" NUL`` per file, or ``path NUL NUL`` for a file the worker
stats itself (a log that starts it before stat'ing anything). The worker answers
on stdout once it is done (the caller reads only then, and a full pipe would stall
the worker): per pack, synced,
``P <pack name>`` then ``F <index> <sha256> <size mtime ctime ino dev>`` for each
of its files; ``R <index>`` for a file that changed since the caller's stat, could
not be read, is not a regular file or is larger than a small one (the caller stores
it the careful way, which names any problem). Exit status 0 when every
line was written.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY  # a FIFO must not hang
PACK_READ_FLAGS = os.O_RDONLY | _BINARY
_datasync = getattr(os, "fdatasync", os.fsync)  # macOS and Windows have no fdatasync
IOV = 512  # buffers per writev (the kernel's limit is 1024)
WORKER_MIN_FILES = 3000  # small files from which about half go to a worker process
WORKER_MIN_BYTES = 8 << 20  # ... holding at least this many bytes
WORKER_START_FILES = 2500  # more files for this process: the worker starts (~30 ms), then is slower
DISABLE_ENV = "LABTRACK_NO_PACK_WORKER"  # set (to anything) to store everything in-process

StatKey = tuple[int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """``(size, mtime_ns, ctime_ns, inode, device)``: what shows a file unchanged.

    A plain tuple of ints: the garbage collector stops tracking it, unlike a kept
    ``os.stat_result`` (ten thousand of those make a full collection more likely).
    """
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def read_unchanged(path: str, key: StatKey) -> bytes | None:
    """The bytes of the file at ``path`` if it is still the file of stat ``key`` (one
    ``open``, ``read``, ``fstat`` and ``close``); None if it changed in any way (size,
    times, inode: replaced, grown) or cannot be read."""
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError:
        return None
    try:
        data = os.read(fd, key[0] + 1)  # one byte more: a file that grew is seen
        after = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) != key[0] or stat_key(after) != key:
        return None
    return data


def pack_name() -> str:
    """A new pack's file name: unique, and sorted by day."""
    return f"{time.strftime('%Y%m%d')}-{uuid.uuid4().hex}.pack"


def write_pack_file(path: str, datas: Sequence[bytes]) -> None:
    """Write ``datas`` back to back into a new read-only file and ``fdatasync`` it; on
    any error nothing is left behind.

    Raises:
        OSError: the file cannot be created or written (a full disk, say).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o444)
    try:
        try:
            for start in range(0, len(datas), IOV):
                _writev_all(fd, datas[start:start + IOV])
            _datasync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _writev_all(fd: int, buffers: Sequence[bytes]) -> None:
    """Write every byte of ``buffers`` (``writev`` may write less than asked; Windows
    has no ``writev``)."""
    written = os.writev(fd, buffers) if hasattr(os, "writev") else 0
    if written == sum(len(b) for b in buffers):
        return
    rest = memoryview(b"".join(buffers))[written:]
    while rest:
        rest = rest[os.write(fd, rest):]


def pread(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset`` (fewer at the end of the file); Windows has no
    ``os.pread``."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def sync_folder(path: str | os.PathLike[str]) -> None:
    """fsync a folder, so the names just created in it survive a power cut. Nothing
    where folders cannot be opened (Windows) or synced (some file systems: EINVAL).

    Raises:
        OSError: the sync failed (an I/O error).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


# -- this process's side -------------------------------------------------------------

Finished = tuple[list[tuple[str, list[int]]], dict[int, tuple[str, StatKey]], list[int]]


class PackWorker:
    """A worker process storing ``files`` (``[(name, path, stat key or None)]``) into
    packs in ``folder``; :meth:`finish` collects what it did."""

    def __init__(self, proc: Any, job: str, folder: str,
                 files: Sequence[tuple[str, str, StatKey | None]]) -> None:
        self._proc, self._job, self.folder, self.files = proc, job, folder, files

    @classmethod
    def start(cls, folder: str, files: Sequence[tuple[str, str, StatKey | None]],
              flush_bytes: int, small_max: int) -> PackWorker | None:
        """Start a worker for ``files`` (a file without a stat key is stat'ed by the
        worker); None where none can run (then store them here)."""
        script = os.path.abspath(__file__)
        python = os.path.basename(sys.executable or "").lower()
        if os.environ.get(DISABLE_ENV) or not python.startswith(("python", "pypy")) or \
                not os.path.isfile(script):  # an embedding program, a zipped install
            return None
        import subprocess

        job = os.path.join(folder, f".job-{uuid.uuid4().hex}")
        try:
            os.makedirs(folder, exist_ok=True)
            with open(job, "wb") as fh:
                fh.write(b"%d %d\0" % (flush_bytes, small_max))
                fh.write(b"".join(b"%s\0%b\0" % (os.fsencode(path), b"" if key is None
                                                  else b"%d %d %d %d %d" % key)
                                  for _, path, key in files))
            proc = subprocess.Popen([sys.executable, "-I", "-S", script, job],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL)
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                os.unlink(job)
            return None
        return cls(proc, job, folder, files)

    def finish(self) -> Finished | None:
        """Wait for the worker: ``(packs, stored, redo)``, packs being ``(name, indexes
        of its files in order)``, stored ``{index: (sha256, stat key)}`` and redo the
        indexes of files to store the careful way; None if the worker failed (its packs are
        removed: store its files here)."""
        try:
            out, _ = self._proc.communicate()
            code = self._proc.returncode
        finally:
            with contextlib.suppress(OSError):
                os.unlink(self._job)
        packs: list[tuple[str, list[int]]] = []
        digests: dict[int, tuple[str, StatKey]] = {}
        redo: list[int] = []
        try:
            for line in out.decode("ascii").splitlines():
                kind, _, rest = line.partition(" ")
                if kind == "P":
                    packs.append((rest, []))
                elif kind == "F":
                    index, digest, *key = rest.split(" ")
                    size, mtime, ctime, ino, dev = (int(n) for n in key)
                    packs[-1][1].append(int(index))
                    digests[int(index)] = (digest, (size, mtime, ctime, ino, dev))
                elif kind == "R":
                    redo.append(int(rest))
            complete = code == 0 and len(digests) + len(redo) == len(self.files)
        except (ValueError, IndexError, UnicodeDecodeError):
            complete = False
        if not complete:
            self.abandon([name for name, _ in packs])
            return None
        return packs, digests, redo

    def abandon(self, names: Sequence[str] = ()) -> None:
        """Stop the worker and remove the packs it wrote."""
        with contextlib.suppress(OSError):
            self._proc.kill()
        with contextlib.suppress(Exception):
            self._proc.communicate()
        with contextlib.suppress(OSError):
            os.unlink(self._job)
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.folder, name))


# -- the worker's side ---------------------------------------------------------------

def _key(path: str, given: bytes, small_max: int) -> StatKey | None:
    """The caller's stat key of a file, else its own stat's (None: not a small regular
    file, or gone)."""
    if given:
        size, mtime, ctime, ino, dev = (int(n) for n in given.split())
        return (size, mtime, ctime, ino, dev)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > small_max:
        return None
    return stat_key(st)


def _work(job: str) -> int:
    with open(job, "rb") as fh:
        fields = fh.read().split(b"\0")
    flush_bytes, small_max = (int(n) for n in fields[0].split())
    folder = os.path.dirname(job)
    out: list[str] = []  # written at the end: the caller reads only once its half is done
    writing: list[threading.Thread] = []
    failed: list[BaseException] = []

    def write(name: str, datas: list[bytes], lines: list[str]) -> None:
        try:
            write_pack_file(os.path.join(folder, name), datas)
        except BaseException as err:  # reported by the main loop
            failed.append(err)
            return
        out.append(f"P {name}\n" + "".join(lines))

    def wait() -> None:
        while writing:
            writing.pop().join()
        if failed:
            raise failed[0]

    datas: list[bytes] = []
    lines: list[str] = []
    queued = 0
    sha256 = hashlib.sha256
    for index in range((len(fields) - 1) // 2):
        path = os.fsdecode(fields[1 + 2 * index])
        key = _key(path, fields[2 + 2 * index], small_max)
        data = None if key is None else read_unchanged(path, key)
        if data is None:
            out.append(f"R {index}\n")
            continue
        datas.append(data)
        lines.append(f"F {index} {sha256(data).hexdigest()} %d %d %d %d %d\n" % key)
        queued += len(data)
        if queued >= flush_bytes:
            wait()  # at most one pack in flight: memory stays under two
            thread = threading.Thread(target=write, args=(pack_name(), datas, lines))
            thread.start()
            writing.append(thread)
            datas, lines, queued = [], [], 0
    wait()
    if datas:
        write(pack_name(), datas, lines)
        wait()
    sys.stdout.write("".join(out))  # (a full pipe would stop this process meanwhile)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    try:
        status = _work(sys.argv[1])
    except Exception as error:  # the caller stores these files itself
        sys.stderr.write(f"labtrack pack worker: {error}\n")
        status = 1
    sys.exit(status)

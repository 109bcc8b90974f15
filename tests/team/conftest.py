"""A real team server (uvicorn on 127.0.0.1) over PostgreSQL or SQLite, with users and keys."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get("LABTRACK_TEST_POSTGRES",
                        "postgresql://postgres@127.0.0.1:5432/labtrack_test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TeamServer:
    """Starts and stops a team server on a fixed port (restartable: same store, same port)."""

    def __init__(self, db: str, data: Path) -> None:
        from labtrack.blobs.local import LocalBlobStore
        from labtrack.settings import Settings
        from labtrack.store import open_store

        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = open_store(db)
        self.blobs = LocalBlobStore(data / "server-blobs")
        self.settings = Settings()
        self.settings.dir = data / "server"
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        from labtrack.server.team import create_team_app

        app = create_team_app(self.store, self.blobs, settings=self.settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("team server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(10)
            self._server = None

    def auth(self) -> Any:
        from labtrack.server.auth import AuthService

        return AuthService(self.store)


@pytest.fixture(params=["postgres", "sqlite"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TeamServer]:
    if request.param == "postgres":
        if os.environ.get("LABTRACK_SKIP_POSTGRES") == "1":
            pytest.skip("LABTRACK_SKIP_POSTGRES=1: PostgreSQL tests skipped on purpose")
        import sqlalchemy

        schema = f"team_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(PG_URL.replace("postgresql://",
                                                        "postgresql+psycopg://"))
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        db = f"{PG_URL}?options=-csearch_path%3D{schema}"
    else:
        db = str(tmp_path / "serverdb")
    server = TeamServer(db, tmp_path)
    server.start()
    yield server
    server.stop()
    server.store.close()
    if request.param == "postgres":
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def keys(team: TeamServer) -> dict[str, str]:
    """alice (admin of project 'shared'), bob (reader of 'shared'), eve (no membership)."""
    auth = team.auth()
    out = {}
    for name in ("alice", "bob", "eve"):
        auth.add_user(name, password=f"{name}-password-123")
        out[name] = auth.create_key(name)
    return out


@pytest.fixture
def client_env(team: TeamServer, tmp_path: Path) -> Callable[[str], dict[str, str]]:
    """Environment of a training machine logging to the team server as ``user``."""
    from pathlib import Path as _P

    root = _P(__file__).resolve().parents[2] / "src"

    def make(key: str, machine: str = "m1") -> dict[str, str]:
        env = dict(os.environ)
        env.update(LABTRACK_URL=team.url, LABTRACK_API_KEY=key,
                   LABTRACK_DIR=str(tmp_path / f"client-{machine}"),
                   LABTRACK_FLUSH_INTERVAL="0.2", LABTRACK_SILENT="1",
                   LABTRACK_DISABLE_STATS="1", LABTRACK_DISABLE_GIT="1",
                   LABTRACK_DISABLE_ENV="1",
                   PYTHONPATH=str(root) + os.pathsep + env.get("PYTHONPATH", ""))
        return env

    return make

"""`handoff serve` and `handoff worker` as separate processes a test can start, kill and restart.

Each runs in its own process group, so SIGKILL reaches uvicorn's server processes too.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from handoff.store.db import Database
from tests.e2e.conftest import issue_tokens, token
from tests.integration.world import build_world
from tests.reliability.proxy import free_port

HANDOFF = [sys.executable, "-m", "handoff.cli"]


def populated(db: Database) -> None:
    """The world of the stories with a token for each of its people and systems."""
    build_world(db)
    issue_tokens(db)


def bearer(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(who)}"}


class Process:
    """One `handoff` command running in the background, its output kept in a log file."""

    def __init__(self, args: list[str], url: str, log: Path, env: dict[str, str]) -> None:
        self.args, self.log = args, log
        self.env = {**os.environ, "HANDOFF_DATABASE_URL": url, **env}
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [*HANDOFF, *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn's workers too) and wait for it to end."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)
        self.popen.wait(timeout=30)
        _wait_for_group_to_end(self.popen.pid)
        self.popen = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_for_group_to_end(pgid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still running")


class Api(Process):
    """`handoff serve` on a free port."""

    def __init__(
        self, url: str, log: Path, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        args = ["serve", "--port", str(self.port), "--workers", str(workers)]
        super().__init__(args, url, log, env or {})
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Api":
        super().start()
        self.wait_until_serving()
        return self

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            assert self.popen.poll() is None, self.output()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the API did not come up:\n{self.output()}")


def worker(url: str, log: Path, env: dict[str, str], interval: float = 0.2) -> Process:
    return Process(["worker", "--interval", str(interval)], url, log, env)

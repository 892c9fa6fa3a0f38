"""Load on a running API from a few threads, every answer noted with when it was asked and how
long it took, so a test can say what happened while the database was away, and after."""

import itertools
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from tests.reliability.acks import Ack
from tests.reliability.servers import bearer

NEW_CASE = {"customer": {"name": "Carla Diaz"}, "subject": "Hold", "participants": ["firstbank"]}
CLIENT_TIMEOUT = 30.0  # far past any stated timeout: reaching it means something hung


@dataclass(frozen=True)
class Answer:
    asked: float  # time.monotonic() when sent
    took: float
    status: int | None  # None: no answer (connection refused or cut, client timeout)
    content_type: str = ""
    code: str | None = None
    error: str | None = None


class Load:
    """Threads taking turns at listing cases, opening one, claiming one, and asking the bank
    for something on one then withdrawing it, until stopped."""

    def __init__(self, base: str, threads: int = 6) -> None:
        self.base, self.threads = base, threads
        self.answers: list[Answer] = []
        self.acks: list[Ack] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.keys = itertools.count()
        self.workers = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> "Load":
        for thread in self.workers:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.workers:
            thread.join(timeout=CLIENT_TIMEOUT + 10)

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.base, timeout=CLIENT_TIMEOUT) as client:
            turn = 0
            while not self.stopping.is_set():
                turn += 1
                if turn % 4 == 0:
                    self._ask(client, "GET", "/v1/cases?limit=5", "dana")
                elif turn % 4 == 1:
                    key = f"load-{n}-{next(self.keys)}"
                    self._ask(client, "POST", "/v1/cases", "acme-crm", NEW_CASE, key)
                elif turn % 4 == 2:
                    self._claim_one(client)
                else:
                    self._ask_and_withdraw(client)

    def _claim_one(self, client: httpx.Client) -> None:
        queue = self._ask(client, "GET", "/v1/cases?unclaimed=true&limit=20", "dave")
        items = queue.json()["items"] if queue is not None and queue.status_code == 200 else []
        if items:
            case_id = items[len(self.answers) % len(items)]["id"]
            self._ask(client, "POST", f"/v1/cases/{case_id}/claim", "dave", {})

    def _ask_and_withdraw(self, client: httpx.Client) -> None:
        """A request to the bank, then a withdraw that cancels it: two events in one change."""
        mine = self._ask(client, "GET", "/v1/cases?mine=true&limit=20", "dave")
        items = mine.json()["items"] if mine is not None and mine.status_code == 200 else []
        active = [c for c in items if c["state"] == "active"]
        if active:
            at = f"/v1/cases/{active[0]['id']}"
            asked = {"to_org": "firstbank", "action": "Release the hold"}
            self._ask(client, "POST", f"{at}/requests", "dave", asked)
            self._ask(client, "POST", f"{at}/withdraw", "dave", {"reason": "Sorted out"})

    def _ask(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        who: str,
        body: object = None,
        key: str | None = None,
    ) -> httpx.Response | None:
        headers = bearer(who) | ({"Idempotency-Key": key} if key else {})
        asked = time.monotonic()
        try:
            response = client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            self._note(Answer(asked, time.monotonic() - asked, None, error=repr(error)))
            return None
        took = time.monotonic() - asked
        kind = response.headers.get("content-type", "")
        code = response.json().get("code") if kind.startswith("application/problem") else None
        self._note(Answer(asked, took, response.status_code, kind, code))
        if method == "POST" and response.is_success:
            self._acked(path, response.json())
        return response

    def _note(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def _acked(self, path: str, body: dict[str, object]) -> None:
        """Note an acknowledged change with what finds its event: a case answer's updated_at, or
        the id of the request it created."""
        action = path.rsplit("/", 1)[-1]
        if action == "requests":
            ack = Ack(str(body["case_id"]), "request_created", item=str(body["id"]))
        else:
            event = {"cases": "case_created", "claim": "claimed", "withdraw": "withdrawn"}[action]
            ack = Ack(str(body["id"]), event, at=datetime.fromisoformat(str(body["updated_at"])))
        with self.lock:
            self.acks.append(ack)

    def between(self, start: float, end: float) -> list[Answer]:
        """The answers to requests asked after `start` and answered before `end`."""
        return [a for a in self.answers if a.asked >= start and a.asked + a.took <= end]

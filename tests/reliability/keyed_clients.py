"""Clients that retry by `Idempotency-Key` as a careful integration would: each change they mean
to make has its own key, sent again with the same body after no answer, a 5xx or "in progress",
until the server gives a definitive answer (2xx or 4xx). Every attempt's outcome is kept, to check
afterwards that each change was made once and no key stayed blocked.
"""

import itertools
import random
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.reliability.servers import bearer

ANSWERED_WITHIN = 10.0  # seconds: SPEC §14's bound on a key a dead request held
BACKOFF = 0.2  # seconds between a client's attempts with one key
IN_PROGRESS = "idempotency_key_in_progress"


@dataclass
class Change:
    """One change a client meant to make, under one key."""

    key: str
    who: str
    path: str
    body: dict[str, object]
    kind: str  # "case", "claim", "note", "request": what to find in the history
    mark: str  # the text that finds it: the case's subject, the note's text, the request's action
    attempts: int = 0
    status: int | None = None  # the definitive answer's status; None: none yet
    content: bytes = b""
    blocked: list[str] = field(default_factory=list)  # answers of "still in progress"

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class KeyedClients:
    """`count` threads, each a client working the cases of acme with a realistic mix: the CRM
    opens cases, reps claim them, write notes on theirs and ask the bank for things."""

    def __init__(self, base: str, count: int = 24, seed: int | None = None) -> None:
        self.base, self.count = base, count
        self.changes: list[Change] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.numbers = itertools.count()
        self.seed = random.Random(seed).random() if seed is not None else random.random()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(count)]

    def __enter__(self) -> "KeyedClients":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _run(self, n: int) -> None:
        choose = random.Random(f"{self.seed}-{n}")
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stopping.is_set():
                change = self._next(client, choose)
                if change is not None:
                    self.finish(client, change, deadline=time.monotonic() + 60)

    def _next(self, client: httpx.Client, choose: random.Random) -> Change | None:
        key = f"chaos-{next(self.numbers)}"
        rep = choose.choice(("dana", "dave"))
        roll = choose.random()
        if roll < 0.3:
            body: dict[str, object] = {
                "customer": {"name": "Carla Diaz"},
                "subject": f"Charge {key}",
                "participants": ["firstbank"],
            }
            return self._made(Change(key, "acme-crm", "/v1/cases", body, "case", f"Charge {key}"))
        if roll < 0.5:
            found = self._cases(client, rep, "unclaimed=true")
            if not found:
                return None
            case_id = choose.choice(found)["id"]
            return self._made(Change(key, rep, f"/v1/cases/{case_id}/claim", {}, "claim", ""))
        mine = [c for c in self._cases(client, rep, "mine=true") if c["state"] == "active"]
        if not mine:
            return None
        at = f"/v1/cases/{choose.choice(mine)['id']}"
        if roll < 0.85:
            note = {"text": f"Note {key}", "visibility": "internal"}
            return self._made(Change(key, rep, f"{at}/notes", note, "note", f"Note {key}"))
        asked = {"to_org": "firstbank", "action": f"Ask {key}"}
        return self._made(Change(key, rep, f"{at}/requests", asked, "request", f"Ask {key}"))

    def _cases(self, client: httpx.Client, who: str, query: str) -> list[dict[str, str]]:
        try:
            answer = client.get(f"/v1/cases?{query}&limit=20", headers=bearer(who))
        except httpx.HTTPError:
            return []
        items: list[dict[str, str]] = answer.json()["items"] if answer.is_success else []
        return items

    def _made(self, change: Change) -> Change:
        with self.lock:
            self.changes.append(change)
        return change

    def finish(self, client: httpx.Client, change: Change, deadline: float) -> None:
        """Send the change with its key until a definitive answer, or until `deadline`."""
        headers = bearer(change.who) | {"Idempotency-Key": change.key}
        while change.status is None and time.monotonic() < deadline:
            change.attempts += 1
            try:
                answer = client.post(change.path, json=change.body, headers=headers)
            except httpx.HTTPError:
                time.sleep(BACKOFF)  # no answer: the server is down or was killed mid-request
                continue
            if answer.status_code == 409 and _code(answer) == IN_PROGRESS:
                change.blocked.append(answer.text)
            elif answer.status_code < 500:
                change.status, change.content = answer.status_code, answer.content
                return
            time.sleep(BACKOFF)

    def unfinished(self) -> list[Change]:
        return [c for c in self.changes if c.status is None]


def _code(answer: httpx.Response) -> str | None:
    if not answer.headers.get("content-type", "").startswith("application/problem"):
        return None
    code: str | None = answer.json().get("code")
    return code

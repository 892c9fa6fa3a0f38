"""How long the send-away check takes a text, over the corpus texts, the first call included and
reported on its own: once in a fresh process (import, rules, model, one text) and once in this one
after everything loaded has been forgotten.

Per text it reports wall-clock p50/p99/max, which on a shared machine include the time the process
waits for a CPU, and the same percentiles of the thread's own CPU time, which do not."""

import re
import subprocess
import sys
import time

from bench.report import Figure
from handoff.domain.send_away import find_send_away, model, phrase_rules
from tools.send_away_corpus import corpus

_FRESH = """
import time
started = time.perf_counter()
from handoff.domain.send_away import find_send_away
find_send_away({text!r})
print((time.perf_counter() - started) * 1e6)
"""


def _forget_loaded_data() -> None:
    """As in a fresh process: nothing read, nothing compiled."""
    phrase_rules.default_rules.cache_clear()
    phrase_rules._builtin_text.cache_clear()
    model.shipped_model.cache_clear()
    re.purge()


def _micros(text: str) -> tuple[float, float]:
    """Wall-clock and thread CPU time of one check, in µs."""
    cpu = time.thread_time_ns()
    started = time.perf_counter_ns()
    find_send_away(text)
    return (time.perf_counter_ns() - started) / 1e3, (time.thread_time_ns() - cpu) / 1e3


def _fresh_process(text: str) -> float:
    run = subprocess.run(
        [sys.executable, "-c", _FRESH.format(text=text)], capture_output=True, text=True, check=True
    )
    return float(run.stdout.strip())


def measure(rounds: int) -> list[Figure]:
    texts = [e.text for e in corpus()]
    fresh = _fresh_process(texts[0])
    _forget_loaded_data()
    first = _micros(texts[0])[0]
    runs = [_micros(t) for _ in range(rounds) for t in texts]
    wall = sorted(w for w, _ in runs)
    cpu = sorted(c for _, c in runs)

    def at(timings: list[float], share: float) -> float:
        return timings[min(len(timings) - 1, int(share * len(timings)))]

    note = f"{len(texts)} corpus texts x {rounds}"
    return [
        Figure("send-away check, first call in a fresh process (import and all)", fresh, "µs"),
        Figure("send-away check, first call (reads rules and model)", first, "µs", note=note),
        Figure("send-away check p50", at(wall, 0.50), "µs", note=note),
        Figure(
            "send-away check p99", at(wall, 0.99), "µs", check="figure<=", target=1000.0, note=note
        ),
        Figure("send-away check max", wall[-1], "µs", note=note),
        Figure("send-away check p50, thread CPU time", at(cpu, 0.50), "µs", note=note),
        Figure("send-away check p99, thread CPU time", at(cpu, 0.99), "µs", note=note),
        Figure("send-away check max, thread CPU time", cpu[-1], "µs", note=note),
    ]

"""How long the send-away check takes a text, over the corpus texts, the first call included
(it reads the rules and the model's weights) and reported on its own."""

import time

from bench.report import Figure
from handoff.domain.send_away import find_send_away, model, phrase_rules
from tools.send_away_corpus import corpus


def _forget_loaded_data() -> None:
    """As in a fresh process: nothing read, nothing compiled."""
    phrase_rules.default_rules.cache_clear()
    phrase_rules._builtin_text.cache_clear()
    model.shipped_model.cache_clear()


def _micros(text: str) -> float:
    started = time.perf_counter()
    find_send_away(text)
    return (time.perf_counter() - started) * 1e6


def measure(rounds: int) -> list[Figure]:
    texts = [e.text for e in corpus()]
    _forget_loaded_data()
    first = _micros(texts[0])
    timings = sorted(_micros(t) for _ in range(rounds) for t in texts)

    def at(share: float) -> float:
        return timings[min(len(timings) - 1, int(share * len(timings)))]

    note = f"{len(texts)} corpus texts x {rounds}"
    return [
        Figure("send-away check, first call (reads rules and model)", first, "µs", note=note),
        Figure("send-away check p50", at(0.50), "µs", note=note),
        Figure("send-away check p99", at(0.99), "µs", check="figure<=", target=1000.0, note=note),
        Figure("send-away check max", timings[-1], "µs", note=note),
    ]

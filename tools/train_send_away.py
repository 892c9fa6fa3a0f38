"""Train the send-away model offline and write its weights into the package.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python -m tools.train_send_away

Trains on the corpus minus its dev split, chooses the regularisation and the threshold on the dev
split (for the whole check: the phrase rules, then the model), writes
handoff/domain/send_away/model.json and prints the dev figures per language.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from handoff.domain.send_away import find_send_away, phrase_rules
from handoff.domain.send_away import model as scorer
from handoff.domain.send_away.evaluate import Example, Figures
from handoff.domain.send_away.features import BUCKETS, clause_features, clauses
from handoff.domain.send_away.lexicon import names_another_party
from handoff.domain.send_away.text import as_meant, as_seen
from tools.send_away_corpus import corpus, in_dev_split

OUT = Path(__file__).parents[1] / "handoff" / "domain" / "send_away" / scorer.MODEL_FILE
# Weights smaller than this change no verdict; leaving them out keeps the shipped file small.
PRUNE = 0.02


def _seen(text: str) -> str:
    return as_meant(*as_seen(text))[0]


def _matrix(examples: list[Example]) -> csr_matrix:
    rows, cols, vals = [], [], []
    for i, example in enumerate(examples):
        seen = _seen(example.text)
        counted = Counter(f for s, e in clauses(seen) for f in clause_features(seen[s:e]))
        norm = math.sqrt(sum(n * n for n in counted.values())) or 1.0
        for f, n in counted.items():
            rows.append(i)
            cols.append(f)
            vals.append(n / norm)
    return csr_matrix((vals, (rows, cols)), shape=(len(examples), BUCKETS))


def _rules_hit(examples: list[Example]) -> np.ndarray:
    rules = phrase_rules.default_rules()
    return np.array([phrase_rules.first_match(_seen(e.text), rules) is not None for e in examples])


def _figures(examples: list[Example], said: np.ndarray) -> dict[str, tuple[int, float, float]]:
    out = {}
    for lang in sorted({e.lang for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.lang == lang]
        truth = np.array([examples[i].send_away for i in idx])
        guess = said[idx]
        tp = int((truth & guess).sum())
        precision = tp / guess.sum() if guess.sum() else 1.0
        recall = tp / truth.sum() if truth.sum() else 1.0
        out[lang] = (len(idx), float(precision), float(recall))
    return out


def _mean_f1(figures: dict[str, tuple[int, float, float]]) -> float:
    """The goal is per language, so each language counts the same whatever its size."""
    scores = [2 * p * r / (p + r) if p + r else 0.0 for _, p, r in figures.values()]
    return sum(scores) / len(scores)


def _model_may_refuse(examples: list[Example]) -> np.ndarray:
    """The scorer's own condition (another party named), so the threshold is chosen for the
    check as it runs."""
    return np.array([names_another_party(_seen(e.text)) for e in examples])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    examples = corpus()
    train = [e for e in examples if not in_dev_split(e)]
    dev = [e for e in examples if in_dev_split(e)]
    x_train, y_train = _matrix(train), np.array([e.send_away for e in train])
    x_dev, rules_dev, may_dev = _matrix(dev), _rules_hit(dev), _model_may_refuse(dev)
    best = None
    for c in (1.0, 3.0, 10.0, 30.0, 100.0):
        fit = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x_train, y_train)
        probability = fit.predict_proba(x_dev)[:, 1]
        for threshold in np.arange(0.30, 0.91, 0.02):
            figures = _figures(dev, rules_dev | (may_dev & (probability >= threshold)))
            if best is None or _mean_f1(figures) > best[0]:
                best = (_mean_f1(figures), c, float(threshold), fit, figures)
    assert best is not None
    _, c, threshold, fit, figures = best
    weights = fit.coef_[0]
    kept = np.flatnonzero(np.abs(weights) >= PRUNE)
    index, weight = scorer.pack([int(i) for i in kept], [float(weights[i]) for i in kept])
    model = {
        "_about": "send-away logistic regression; tools/train_send_away.py writes this file",
        "trained_on": len(train),
        "C": c,
        "buckets": BUCKETS,
        "bias": round(float(fit.intercept_[0]), 5),
        "threshold": round(threshold, 3),
        # (bucket, weight) pairs as packed arrays: see model.pack.
        "index": index,
        "weight": weight,
    }
    args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"trained on {len(train)}, dev {len(dev)}; C={c} threshold={threshold:.2f}")
    print(f"{len(kept)} weights kept of {np.count_nonzero(weights)}; written to {args.out}")
    for lang, (n, p, r) in figures.items():
        print(f"chosen on dev {lang}: n={n} precision={p:.3f} recall={r:.3f}")
    # The whole check as it runs, with the weights just written (the scorer's last guard, that
    # the quoted clause does not point at us only, is not part of the choice above).
    scorer.shipped_model.cache_clear()
    checked: dict[str, Figures] = {}
    for example in dev:
        figs = checked.setdefault(example.lang, Figures(example.lang))
        figs.count(example, find_send_away(example.text))
    for lang, figs in sorted(checked.items()):
        print(
            f"dev {lang}: n={figs.n} precision={figs.precision:.3f} recall={figs.recall:.3f} "
            f"(sent away {figs.true_pos + figs.false_neg})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

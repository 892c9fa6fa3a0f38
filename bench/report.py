"""A figure beside its reference, the ratio between them, and whether the target is met."""

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Check = Literal["ratio>=", "ratio<=", "figure>=", "figure<=", "info"]


@dataclass
class Figure:
    """One measurement. `ratio` is figure / reference; `check` says what the target bounds."""

    name: str
    figure: float
    unit: str
    reference: float | None = None
    reference_name: str = ""
    check: Check = "info"
    target: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0 or math.isnan(self.figure):
            return None
        return self.figure / self.reference

    @property
    def passed(self) -> bool | None:
        if self.check == "info" or self.target is None:
            return None
        if self.check == "ratio>=":
            return self.ratio is not None and self.ratio >= self.target
        if self.check == "ratio<=":
            return self.ratio is not None and self.ratio <= self.target
        if self.check == "figure>=":
            return self.figure >= self.target
        return self.figure <= self.target

    @property
    def target_text(self) -> str:
        if self.check == "info" or self.target is None:
            return "(stated)"
        if self.check in ("ratio>=", "ratio<="):
            return f"ratio {self.check[-2:]} {self.target:g}"
        sign = ">=" if self.check == "figure>=" else "<="
        return f"{sign} {number(self.target)} {self.unit}"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(ratio=self.ratio, passed=self.passed, target_text=self.target_text)
        if math.isnan(self.figure):
            out["figure"] = None
        return out


def skipped(name: str, unit: str, why: str) -> Figure:
    return Figure(name, math.nan, unit, note=f"skipped: {why}")


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(passed: bool | None) -> str:
    return {True: "pass", False: "MISS", None: ""}[passed]


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table: it reads in a terminal and pastes into docs/performance.md as it is."""
    rows = [("figure", "measured", "reference", "ratio", "target", "", "reference is", "note")]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        rows.append(
            (
                f.name,
                f"{number(f.figure)} {f.unit}" if not math.isnan(f.figure) else f.note,
                f"{number(f.reference)} {f.unit}" if f.reference is not None else "-",
                ratio,
                f.target_text,
                verdict(f.passed),
                f.reference_name,
                f.note if not math.isnan(f.figure) else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_json(path: Path, figures: Sequence[Figure], context: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"context": context, "figures": [f.as_json() for f in figures]}
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")

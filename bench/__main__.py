"""`python -m bench`: every figure beside its reference, measured in one run on this machine.

python -m bench                 the full run (a few minutes)
python -m bench --quick         a short smoke run (small counts, short HTTP runs)
python -m bench --only http     only the suites whose name starts with "http"
python -m bench --json PATH     where the JSON goes (default bench/results.json)
"""

import argparse
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import audit_trail, big_case, engine_mix, machine, send_away, server_load, streams
from bench.databases import postgres_missing
from bench.report import Figure, skipped, table, write_json

Suite = Callable[[bool], list[Figure]]


def _engine(kind: str) -> Suite:
    return lambda quick: engine_mix.measure(kind, 60 if quick else 1000)


def _http(kind: str, workers: int) -> Suite:
    return lambda quick: server_load.measure(kind, workers, 2.0 if quick else 10.0)


SUITES: dict[str, tuple[str, Suite]] = {
    "engine-sqlite": ("sqlite", _engine("sqlite")),
    "engine-postgres": ("postgres", _engine("postgres")),
    "machine": ("", lambda quick: machine.measure(2_000 if quick else 20_000)),
    "send-away": ("", lambda quick: send_away.measure(1 if quick else 5)),
    "http-sqlite": ("sqlite", _http("sqlite", 1)),
    "http-postgres": ("postgres", _http("postgres", 1)),
    "http-sqlite-2-workers": ("sqlite", _http("sqlite", 2)),
    "http-postgres-2-workers": ("postgres", _http("postgres", 2)),
    "big-case-sqlite": ("sqlite", lambda quick: big_case.measure("sqlite", quick)),
    "big-case-postgres": ("postgres", lambda quick: big_case.measure("postgres", quick)),
    "streams": ("sqlite", lambda quick: streams.measure(3.0 if quick else 10.0)),
    "audit": (
        "sqlite",
        lambda quick: audit_trail.measure(20_000 if quick else 1_000_000, 200 if quick else 2000),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", action="append", metavar="NAME", help="suites starting so")
    parser.add_argument("--json", type=Path, default=Path("bench/results.json"), metavar="PATH")
    args = parser.parse_args(argv)
    chosen = [
        name for name in SUITES if not args.only or any(name.startswith(o) for o in args.only)
    ]
    if not chosen:
        parser.error(f"no suite matches; the suites are: {', '.join(SUITES)}")
    no_postgres = postgres_missing() if any(SUITES[n][0] == "postgres" for n in chosen) else None
    figures: list[Figure] = []
    started = time.perf_counter()
    for name in chosen:
        kind, suite = SUITES[name]
        print(f"… {name}", file=sys.stderr, flush=True)
        if kind == "postgres" and no_postgres:
            figures.append(skipped(name, "", f"no PostgreSQL ({no_postgres})"))
            continue
        figures += suite(args.quick)
    print(table(figures))
    context = {
        "command": "python -m bench" + (" --quick" if args.quick else ""),
        "suites": chosen,
        "quick": args.quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
    }
    write_json(args.json, figures, context)
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

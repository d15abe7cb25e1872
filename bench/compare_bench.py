"""Benchmark of `gitevals compare` on two large runs.

    python bench/compare_bench.py [--repeat N]

Two synthetic run folders of N items each are written to a temporary project:
realistic result lines (a question, an expected answer, an output, two
scorers, content hashes), with B differing from A the way a real change does
(some items regressed or improved, a few inputs edited, some added and
removed). `gitevals compare A B` is timed from the outside, start-up included,
against a floor measured in the same run: a bare script that only reads and
parses both results files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SIZES = {10_000: 1.0, 100_000: 5.0}  # items -> target seconds

FLOOR = """
import json, sys
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
"""


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _record(item_id: str, question: str, expected: str, output: str) -> dict:
    hit = float(expected in output)
    return {
        "item_id": item_id,
        "trial": 0,
        "input": question,
        "expected": expected,
        "context": {"tags": ["billing"]},
        "input_hash": _hash(question),
        "expected_hash": _hash(expected),
        "hash": _hash([question, expected]),
        "output": output,
        "error": None,
        "latency_ms": 12.5,
        "attempts": 1,
        "scores": {
            "has-answer": {"value": hit, "passed": bool(hit), "reason": None if hit else f"missing {expected!r}"},
            "similarity": {"value": 0.5 + hit / 2, "passed": True, "reason": None},
        },
        "started_at": "2026-11-22T10:00:00+00:00",
    }


def write_run(root: Path, run_id: str, records: list[dict]) -> None:
    folder = root / "runs" / "bench" / run_id
    folder.mkdir(parents=True)
    manifest = {
        "id": run_id,
        "eval": "bench",
        "dataset": "bench",
        "status": "completed",
        "started_at": f"2026-11-22T10:00:0{run_id[-1]}+00:00",
        "dataset_hash": _hash([r["hash"] for r in records]),
        "config": {"dataset": "bench", "target": "agent:run", "scorers": ["has-answer", "similarity"], "trials": 1},
        "versions": {"gitevals": "bench", "python": sys.version.split()[0]},
    }
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    with open(folder / "results.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def build(root: Path, n: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    a, b = [], []
    for index in range(n):
        item_id = f"item-{index:06d}"
        question = f"Customer {index} asks: how long does delivery to zone {rng.randrange(99)} take for order {index}?"
        expected = f"{rng.randrange(2, 9)} days"
        good = f"Delivery takes {expected} from the day we ship your parcel."
        bad = "I am not sure, please contact support."
        output_a = good if rng.random() < 0.8 else bad
        roll = rng.random()
        output_b = bad if roll < 0.10 else (good if roll < 0.18 else output_a)
        if index % 100 != 1:  # one in a hundred is removed from B
            a.append(_record(item_id, question, expected, output_a))
        if index % 100 == 2:
            question += " (reworded)"
        b.append(_record(item_id, question, expected, output_b))
    b += [_record(f"new-{i}", f"new question {i}", "3 days", "3 days") for i in range(n // 100)]
    write_run(root, "20261122T100000Z-aaaaaa1", a)
    write_run(root, "20261122T100000Z-bbbbbb2", b)
    return "20261122T100000Z-aaaaaa1", "20261122T100000Z-bbbbbb2"


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    gitevals = [sys.executable, "-m", "gitevals"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gitevals-compare-bench-") as tmp:
        for n, target in SIZES.items():
            root = Path(tmp) / f"p{n}"
            root.mkdir()
            (root / "gitevals.yaml").write_text("{}\n")
            a, b = build(root, n)
            files = [str(root / "runs" / "bench" / run / "results.jsonl") for run in (a, b)]
            print(f"compare {n} items x {args.repeat} ...", file=sys.stderr)
            timed([*gitevals, "compare", a, b], root)  # warm-up: bytecode and file caches
            walls, floors = [], []
            for _ in range(args.repeat):
                walls.append(timed([*gitevals, "compare", a, b], root))
                floors.append(timed([sys.executable, "-c", FLOOR, *files], root))
            wall, floor = statistics.median(walls), statistics.median(floors)
            rows.append((n, wall, target, floor))
    print(f"{'measure':<38} {'value':>9} {'target':>9} {'floor':>9} {'vs floor':>9}  result")
    failed = False
    for n, wall, target, floor in rows:
        ok = wall < target
        failed |= not ok
        print(f"{f'compare {n:,} items (text, whole process)':<38} {wall:>7.3f} s {f'< {target:g} s':>9} "
              f"{floor:>7.3f} s {wall / floor:>8.2f}x  {'PASS' if ok else 'FAIL'}")
    print("floor: a bare script that only reads and parses both results.jsonl files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

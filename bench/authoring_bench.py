"""Benchmark of dataset editing: one `gitevals dataset add` to a 10,000-item
file, and `gitevals dataset import` of a 100,000-row CSV, each timed around
the whole process (start-up included), median of the rounds.

    python bench/authoring_bench.py [--repeat N]

Floors measured in the same run: `gitevals --help` (start-up alone) for the
add, and a bare script that only reads the CSV rows for the import.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import write_dataset  # noqa: E402  (the realistic 10,000-item dataset of the runner bench)

ADD_TARGET_S, IMPORT_TARGET_S = 1.0, 3.0
CSV_FLOOR = "import csv, sys\nwith open(sys.argv[1], newline='', encoding='utf-8') as f:\n    rows = list(csv.reader(f))\n"


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(3)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "input", "expected", "topic"])
        for n in range(rows):
            writer.writerow([f"row-{n:06d}", f"Customer question {n} about order {rng.randrange(10**6)}, what now?",
                             f"{rng.randrange(2, 9)} days", rng.choice(["billing", "shipping", "returns"])])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    gitevals = [sys.executable, "-m", "gitevals"]
    with tempfile.TemporaryDirectory(prefix="gitevals-authoring-bench-") as tmp:
        root = Path(tmp)
        (root / "gitevals.yaml").write_text("{}\n")
        (root / "datasets").mkdir()
        big = root / "datasets" / "big.yaml"
        write_dataset(big, 10_000, echo=False, seed=5)
        source = root / "rows.csv"
        write_csv(source, 100_000)
        print(f"add x {args.repeat}, import x {args.repeat} ...", file=sys.stderr)
        adds, helps, imports, floors = [], [], [], []
        for n in range(args.repeat):
            adds.append(timed([*gitevals, "dataset", "add", "big", "--input", f"A new question {n}?", "--expected", "yes"], root))
            helps.append(timed([*gitevals, "--help"], root))
            (root / "datasets" / "imported.yaml").unlink(missing_ok=True)
            imports.append(timed([*gitevals, "dataset", "import", "imported", str(source), "--context-col", "topic"], root))
            floors.append(timed([sys.executable, "-c", CSV_FLOOR, str(source)], root))
        timed([*gitevals, "dataset", "validate", "big"], root)  # every add left a valid file
    add, help_s = statistics.median(adds), statistics.median(helps)
    imp, floor = statistics.median(imports), statistics.median(floors)
    print(f"{'measure':<44} {'value':>9} {'target':>8} {'floor':>9} {'vs floor':>9}  result")
    print(f"{'dataset add to a 10,000-item file':<44} {add:>7.3f} s {'< 1 s':>8} {help_s:>7.3f} s {add / help_s:>8.2f}x  "
          f"{'PASS' if add < ADD_TARGET_S else 'FAIL'}")
    print(f"{'dataset import of a 100,000-row CSV':<44} {imp:>7.3f} s {'< 3 s':>8} {floor:>7.3f} s {imp / floor:>8.2f}x  "
          f"{'PASS' if imp < IMPORT_TARGET_S else 'FAIL'}")
    print("floors: `gitevals --help` (start-up) for add; reading the CSV rows alone for import")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Child process for the dataset-load benchmark.

    python bench/load_child.py PATH

Imports gitevals.datasets and loads PATH, then prints one JSON line with the
import time, the load time and the item count (timed from inside the process,
so interpreter start-up is excluded; the parent times the whole process too).
"""

from __future__ import annotations

import json
import sys
import time

if __name__ == "__main__":
    t0 = time.perf_counter()
    from gitevals.datasets import load_dataset

    t1 = time.perf_counter()
    dataset = load_dataset(sys.argv[1])
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "items": len(dataset.items)}))

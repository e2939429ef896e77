"""What each optional part of the engine gains: every part on, then each one off.

Prints median seconds per configuration and the gain of each part (time without it over time
with it, minus one), for list input and for the flat entry point, at 1M tokens, K=9 float32,
K=37 float64 and K=7 float64, one thread. The intrinsics serve rows of one or two registers
(8-16 float32, 4-8 float64 classes): K=9 float32 and K=7 float64 run them, K=37 float64 the
portable kernels. Not a test: it asserts nothing and takes about ten minutes.

Times are the process's CPU time (one thread: the work itself, without the waits that other
programs on a shared machine add), with wall-clock medians beside them for reference.

    python benches/engine_parts.py             # 5 repetitions
    python benches/engine_parts.py --reps 3
    python benches/engine_parts.py --datasets 12:float64,70:float32   # other shapes

The parts and the switches that turn them off (read at import, so each configuration runs in a
fresh interpreter; configurations alternate within each repetition, so drift hits all alike):

- the AVX2 intrinsics row kernels (src/simd.rs): ``TOKENCLEAN_SIMD=recompile-only``;
- the AVX2 recompile of the generic closures (src/simd.rs, ``wide``):
  ``TOKENCLEAN_SIMD=intrinsics-only``; ``TOKENCLEAN_SIMD=baseline`` turns off both;
- the int cache of the list path (src/python/ragged.rs): ``TOKENCLEAN_BENCH_OFF=int-cache``;
- the one-block view of sentences split from one array (src/python/ragged.rs):
  ``TOKENCLEAN_BENCH_OFF=one-block``.

Data as in ``compare_cleanlab.py`` (same generator, fixed seed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# (name, TOKENCLEAN_SIMD, TOKENCLEAN_BENCH_OFF, kernels() the child must report)
CONFIGS = [
    ("all parts", "", "", "avx2"),
    ("no intrinsics", "recompile-only", "", "recompile-only"),
    ("no recompile", "intrinsics-only", "", "intrinsics-only"),
    ("no AVX2 at all", "baseline", "", "baseline"),
    ("no int cache", "", "int-cache", "avx2"),
    ("no one-block view", "", "one-block", "avx2"),
]
DATASETS = [(9, "float32"), (37, "float64"), (7, "float64")]
N_TOKENS = 1_000_000
CALLS = 9  # timed calls of each entry point per child, after one warm-up call


def child(k: int, dtype: str) -> None:
    """Runs in a fresh interpreter: times both entry points and prints one JSON line."""
    import numpy as np
    from compare_cleanlab import as_lists, make_data

    import tokenclean
    from tokenclean import _core
    from tokenclean.token_classification.filter import find_label_issues_flat

    labels, pred, lengths = make_data(N_TOKENS, k, np.dtype(dtype).type)
    lab_list, pp_list = as_lists(labels, pred, lengths)
    calls = {
        "list": lambda: tokenclean.find_label_issues(lab_list, pp_list, n_jobs=1),
        "flat": lambda: find_label_issues_flat(labels, pred, lengths, n_jobs=1),
    }
    out: dict[str, Any] = {"kernels": _core.kernels()}
    for name, call in calls.items():
        answer = call()  # warm-up; its answer is compared across configurations
        out[name + "_answer"] = hashlib.sha256(repr(answer).encode()).hexdigest()[:16]
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(CALLS):
        for name, call in calls.items():  # the two entry points alternate
            c, w = time.process_time(), time.perf_counter()
            call()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - w)
    for name in calls:
        out[name] = statistics.median(cpu[name])
        out[name + "_wall"] = statistics.median(wall[name])
    print(json.dumps(out))


def run_child(k: int, dtype: str, simd: str, off: str) -> dict[str, Any]:
    env = {**os.environ, "TOKENCLEAN_NUM_THREADS": "1"}
    env.pop("TOKENCLEAN_SIMD", None)
    env.pop("TOKENCLEAN_BENCH_OFF", None)
    if simd:
        env["TOKENCLEAN_SIMD"] = simd
    if off:
        env["TOKENCLEAN_BENCH_OFF"] = off
    res = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(k), dtype],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def gain(without: float, with_: float) -> str:
    return f"{(without / with_ - 1) * 100:+.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument(
        "--datasets",
        default=",".join(f"{k}:{d}" for k, d in DATASETS),
        help="comma-separated K:dtype (default: %(default)s)",
    )
    ap.add_argument("--child", nargs=2, metavar=("K", "DTYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1])
        return
    import numpy as np

    import tokenclean

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, tokenclean {tokenclean.__version__}; "
        f"{N_TOKENS:,} tokens, one thread, {args.reps} repetitions x {CALLS} calls"
    )
    print(f"load average at the start: {os.getloadavg()}")
    datasets = [(int(k), d) for k, d in (x.split(":") for x in args.datasets.split(","))]
    for k, dtype in datasets:
        keys = ("list", "flat", "list_wall", "flat_wall")
        times: dict[str, dict[str, list[float]]] = {c[0]: {p: [] for p in keys} for c in CONFIGS}
        answers: dict[str, set[str]] = {"list": set(), "flat": set()}
        for rep in range(args.reps):
            # A different starting configuration each repetition, so no one always runs first.
            order = CONFIGS[rep % len(CONFIGS) :] + CONFIGS[: rep % len(CONFIGS)]
            for name, simd, off, kernels in order:
                r = run_child(k, dtype, simd, off)
                if r["kernels"] != kernels:
                    print(f"warning: {name} ran kernels {r['kernels']!r}, not {kernels!r}")
                for key in keys:
                    times[name][key].append(r[key])
                for path in ("list", "flat"):
                    answers[path].add(r[path + "_answer"])
        med = {name: {p: statistics.median(v) for p, v in t.items()} for name, t in times.items()}
        same = all(len(a) == 1 for a in answers.values())
        print(f"\n## K={k} {dtype} (answers identical across configurations: {same})\n")
        row("configuration", "list CPU s", "flat CPU s", "list wall s", "flat wall s")
        row("---", "---", "---", "---", "---")
        for name, *_ in CONFIGS:
            row(name, *(f"{med[name][key]:.4f}" for key in keys))
        print()
        row("part", "list gain", "flat gain", "list gain (wall)", "flat gain (wall)")
        row("---", "---", "---", "---", "---")
        a = med["all parts"]
        for part, without, with_ in [
            ("AVX2 intrinsics (recompile kept)", med["no intrinsics"], a),
            ("AVX2 intrinsics (no recompile)", med["no AVX2 at all"], med["no recompile"]),
            ("AVX2 recompile (intrinsics kept)", med["no recompile"], a),
            ("AVX2 recompile (no intrinsics)", med["no AVX2 at all"], med["no intrinsics"]),
            ("int cache", med["no int cache"], a),
            ("one-block view", med["no one-block view"], a),
        ]:
            row(part, *(gain(without[key], with_[key]) for key in keys))
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

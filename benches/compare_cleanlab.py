"""tokenclean vs cleanlab 2.9.0, side by side in one process.

Prints medians, speed-up ratios and peak memory per token for the list and flat entry points,
plus a scaling series. Not a test: it asserts nothing and takes a few minutes.

    python benches/compare_cleanlab.py            # everything
    python benches/compare_cleanlab.py --quick    # fewer repeats, no 10M-token point

Data follow the recipe of shared/notes/cleanlab-2.9-behaviour.md section 5: sentences of 5-40
tokens, half the tokens of class 0, softmax(N(0, 1) + U(0.5, 5) on the true class), ~5% of
labels flipped to another class; fixed seed.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tokenclean
from tokenclean.token_classification.filter import find_label_issues_flat


def make_data(
    n_tokens: int, k: int, dtype: type, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat labels, probabilities and sentence lengths."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 41, size=n_tokens // 22 + 10)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_tokens) + 1]
    lengths[-1] -= lengths.sum() - n_tokens
    n = int(lengths.sum())
    true = np.where(rng.random(n) < 0.5, 0, rng.integers(1, k, size=n))
    pred = np.empty((n, k), dtype=dtype)
    step = 1 << 20
    for lo in range(0, n, step):  # in slices, to keep the generator's own memory small
        hi = min(n, lo + step)
        logits = rng.normal(size=(hi - lo, k))
        logits[np.arange(hi - lo), true[lo:hi]] += rng.uniform(0.5, 5, size=hi - lo)
        logits = np.exp(logits - logits.max(axis=1, keepdims=True))
        pred[lo:hi] = logits / logits.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.05
    labels[flip] = (labels[flip] + rng.integers(1, k, size=int(flip.sum()))) % k
    return labels, pred, lengths.astype(np.int64)


def as_lists(labels: np.ndarray, pred: np.ndarray, lengths: np.ndarray) -> tuple[list, list]:
    cuts = np.cumsum(lengths)[:-1]
    return [x.tolist() for x in np.split(labels, cuts)], np.split(pred, cuts)


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _release_free_memory() -> None:
    """Hand memory that glibc keeps after frees back to the system, so that a call's own
    allocations raise the resident size instead of reusing pages an earlier call left."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_extra_bytes(call: Callable[[], Any]) -> int:
    """Peak resident memory above what was resident before the call (Linux)."""
    gc.collect()
    _release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:
        return -1
    before = _status("VmRSS:")
    call()
    return _status("VmHWM:") - before


def median_time(call: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-cleanlab", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else 5
    warnings.simplefilter("ignore")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, tokenclean {tokenclean.__version__}"
    )

    cl = None
    if not args.no_cleanlab:
        try:
            from cleanlab.token_classification.filter import find_label_issues as cl
        except ImportError:
            print("cleanlab not installed: tokenclean only")

    print("\n## End to end, list input, 1M tokens (medians of alternating runs)\n")
    row(
        "K",
        "dtype",
        "cleanlab s",
        "tokenclean s",
        "speed-up",
        "cleanlab B/tok",
        "ours B/tok",
    )
    row(*["---"] * 7)
    configs = [(9, np.float32), (37, np.float64)]
    for k, dtype in configs:
        bench_list(k, dtype, cl, repeats)
    if cl is not None:
        # After all timings: the shim makes cleanlab's sorts stable (and slower).
        print()
        for k, dtype in configs:
            labels, pred, lengths = make_data(1_000_000, k, dtype)
            lab_list, pp_list = as_lists(labels, pred, lengths)
            a = stable_cleanlab_answer(lab_list, pp_list)
            b = tokenclean.find_label_issues(lab_list, pp_list)
            verdict = "identical" if a == b else f"DIFFERENT ({len(a)} vs {len(b)} issues)"
            print(f"K={k} {np.dtype(dtype).name}: answer vs cleanlab with stable sorts: {verdict}")
    bench_flat(repeats)
    bench_scaling(repeats, [100_000, 1_000_000, 3_000_000] + ([] if args.quick else [10_000_000]))


def bench_list(k: int, dtype: type, cl: Callable[..., Any] | None, repeats: int) -> None:
    labels, pred, lengths = make_data(1_000_000, k, dtype)
    lab_list, pp_list = as_lists(labels, pred, lengths)
    n = len(labels)

    def ours() -> Any:
        return tokenclean.find_label_issues(lab_list, pp_list)

    def theirs() -> Any:
        assert cl is not None
        return cl(lab_list, pp_list)

    t_ours, t_cl = [], []
    for _ in range(repeats):  # alternate, so drift hits both alike
        t_ours.append(median_time(ours, 1))
        if cl is not None:
            t_cl.append(median_time(theirs, 1))
    m_ours = statistics.median(t_ours)
    mem_ours = peak_extra_bytes(ours) / n
    if cl is not None:
        m_cl = statistics.median(t_cl)
        mem_cl = peak_extra_bytes(theirs) / n
    else:
        m_cl, mem_cl = float("nan"), float("nan")
    row(
        k,
        np.dtype(dtype).name,
        f"{m_cl:.3f}",
        f"{m_ours:.4f}",
        f"{m_cl / m_ours:.0f}x",
        f"{mem_cl:.0f}",
        f"{mem_ours:.1f}",
    )


def stable_cleanlab_answer(labels: list, pred_probs: list) -> Any:
    """cleanlab's answer with every sort stable (the shim of tests/cleanlab_stable.py).

    Plain cleanlab's order of tied scores, and sometimes its count, depends on the CPU.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from cleanlab_stable import stable_cleanlab

    stable_cleanlab()
    from cleanlab.token_classification.filter import find_label_issues

    return find_label_issues(labels, pred_probs, n_jobs=1)


def bench_flat(repeats: int) -> None:
    print("\n## Flat input near the memory-bandwidth limit (2M tokens, K=9 float32)\n")
    labels, pred, lengths = make_data(2_000_000, 9, np.float32, seed=1)
    t_sum = median_time(lambda: pred.sum(), repeats * 2)
    t_flat = median_time(lambda: find_label_issues_flat(labels, pred, lengths), repeats * 2)
    row("input MB", "pred_probs.sum() s", "find_label_issues_flat s", "ratio")
    row("---", "---", "---", "---")
    row(f"{pred.nbytes / 1e6:.0f}", f"{t_sum:.4f}", f"{t_flat:.4f}", f"{t_flat / t_sum:.1f}x")


def bench_scaling(repeats: int, sizes: list[int]) -> None:
    print("\n## Scaling, flat input, K=9 float32\n")
    row("tokens", "seconds", "ns per token", "peak extra B/token")
    row("---", "---", "---", "---")
    for n_tok in sizes:
        labels, pred, lengths = make_data(n_tok, 9, np.float32, seed=2)

        def call(labels: Any = labels, pred: Any = pred, lengths: Any = lengths) -> Any:
            return find_label_issues_flat(labels, pred, lengths)

        # Short calls get more runs, so that every point's median covers about as much time.
        t = median_time(call, max(repeats, 4_000_000 // n_tok))
        mem = peak_extra_bytes(call) / n_tok
        row(f"{n_tok:,}", f"{t:.4f}", f"{t / n_tok * 1e9:.1f}", f"{mem:.1f}")


if __name__ == "__main__":
    main()

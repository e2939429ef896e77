"""tokenclean.dask on a local 2-process cluster: time and peak worker memory for 10M tokens.

Not a test: it prints figures. The data (K=9 float32, sentences of 5-40 tokens, ~5% labels
flipped, fixed seeds) are generated on the workers chunk by chunk and persisted there, so the
client never holds the probabilities; `--check` also gathers them and compares the answer with
find_label_issues_flat on one machine.

    python benches/dask_scale.py                 # 10M tokens, chunks of 1M rows
    python benches/dask_scale.py --tokens 2000000 --chunk 250000 --check
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from tokenclean.dask import find_label_issues


def _block(seed: int, rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = np.where(rng.random(rows) < 0.5, 0, rng.integers(1, k, size=rows))
    logits = rng.normal(size=(rows, k))
    logits[np.arange(rows), true] += rng.uniform(0.5, 5, size=rows)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    flip = rng.random(rows) < 0.05
    labels = true.copy()
    labels[flip] = (labels[flip] + rng.integers(1, k, size=int(flip.sum()))) % k
    return labels.astype(np.int64), p


def make_data(n: int, k: int, chunk: int) -> tuple[da.Array, da.Array, np.ndarray]:
    rows = [min(chunk, n - lo) for lo in range(0, n, chunk)]
    blocks = [dask.delayed(_block, pure=True)(i, r, k) for i, r in enumerate(rows)]
    labels = da.concatenate(
        [
            da.from_delayed(b[0], shape=(r,), dtype=np.int64)
            for b, r in zip(blocks, rows, strict=False)
        ]
    )
    probs = da.concatenate(
        [
            da.from_delayed(b[1], shape=(r, k), dtype=np.float32)
            for b, r in zip(blocks, rows, strict=False)
        ]
    )
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 41, size=n // 22 + 10)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n) + 1]
    lengths[-1] -= lengths.sum() - n
    return labels, probs, lengths.astype(np.int64)


def _memory() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=10_000_000)
    ap.add_argument("--classes", type=int, default=9)
    ap.add_argument("--chunk", type=int, default=1_000_000, help="rows per chunk")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="compare with find_label_issues_flat")
    args = ap.parse_args()

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        labels, probs, lengths = make_data(args.tokens, args.classes, args.chunk)
        labels, probs = dask.persist(labels, probs)
        client.wait_for_workers(2)
        dask.compute(labels.sum(), probs.sum())  # materialise the persisted chunks
        n = args.tokens
        print(
            f"{n:,} tokens, K={args.classes} float32 ({probs.nbytes / 1e6:.0f} MB), "
            f"{len(lengths):,} sentences, {probs.numblocks[0]} chunks of <= {args.chunk:,} rows, "
            "LocalCluster: 2 worker processes x 1 thread"
        )
        base: dict[str, Any] = client.run(_memory)
        times = []
        issues = np.empty((0, 2), np.int64)
        for _ in range(args.repeat):
            client.run(_reset_peak)
            t0 = time.perf_counter()
            issues = find_label_issues(labels, probs, lengths)
            times.append(time.perf_counter() - t0)
        after: dict[str, Any] = client.run(_memory)
        t = sorted(times)[len(times) // 2]
        print(
            f"tokenclean.dask.find_label_issues: median {t:.2f} s of {args.repeat}, "
            f"{t / n * 1e9:.0f} ns/token, {len(issues):,} issues"
        )
        for w in sorted(base):
            above = after[w]["VmHWM"] - base[w]["VmRSS"]
            print(
                f"  worker {w}: holds {base[w]['VmRSS'] / 1e6:.0f} MB with its chunks, "
                f"peak {after[w]['VmHWM'] / 1e6:.0f} MB during the call "
                f"({above / 1e6:+.0f} MB, {above / (n / 2):.1f} B per token it holds)"
            )
        if args.check:
            from tokenclean.token_classification.filter import find_label_issues_flat

            lab, p = dask.compute(labels, probs)
            t0 = time.perf_counter()
            want = find_label_issues_flat(lab, p, lengths)
            print(
                f"find_label_issues_flat on the gathered data: {time.perf_counter() - t0:.2f} s; "
                f"identical: {np.array_equal(want, issues)}"
            )


if __name__ == "__main__":
    main()

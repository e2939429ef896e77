"""Time of variation n-grams (tokenclean.ngrams) at 1M tokens.

Two corpora of 1,000,000 tokens, fixed seeds:

* zipf: word ids drawn from a Zipf law (a=1.3), sentences of 5-40 tokens, each word's tag a
  function of the word with 5% of tags replaced at random (K=9);
* wnut17: the WNUT-17 sentences (shared data; skipped if absent), lower-cased, repeated until
  1M tokens, 5% of the tags of the copies replaced at random.

Prints the median wall-clock and CPU time of 5 runs per max_n (the engine is single-threaded,
so CPU time is the cost on an idle machine). Not a test: it asserts nothing.

    python benches/ngrams.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from tokenclean.ngrams import variation_ngrams, word_ids

N = 1_000_000
K = 9
WNUT = Path(__file__).resolve().parents[1].parent / "shared/data/wnut17/wnut17.npz"


def zipf_corpus(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 41, size=N // 20)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), N)]
    lengths = np.append(lengths, N - lengths.sum()).astype(np.int64)
    words = rng.zipf(1.3, size=N).astype(np.int64)
    labels = (words * 2654435761 % 97 % K).astype(np.int64)
    return words, _noisy(labels, rng), lengths


def wnut_corpus(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not WNUT.exists():
        return None
    z = np.load(WNUT)
    lengths = z["lengths"].astype(np.int64)
    cuts = np.cumsum(lengths)[:-1]
    ids, _ = word_ids([s.tolist() for s in np.split(z["tokens_flat"], cuts)])
    labels = z["labels_flat"].astype(np.int64)
    reps = -(-N // len(ids))
    rng = np.random.default_rng(seed)
    words = np.tile(ids, reps)
    tags = np.concatenate([labels] + [_noisy(labels, rng) for _ in range(reps - 1)])
    lens = np.tile(lengths, reps)
    keep = np.searchsorted(np.cumsum(lens), N, side="right")
    lens = lens[:keep]
    n = int(lens.sum())
    return words[:n], tags[:n], lens


def _noisy(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = labels.copy()
    flip = rng.random(len(out)) < 0.05
    out[flip] = rng.integers(0, int(out.max()) + 1, size=int(flip.sum()))
    return out


def main() -> None:
    corpora = {"zipf": zipf_corpus(), "wnut17": wnut_corpus()}
    print(f"{'corpus':<8} {'tokens':>9} {'max_n':>5} {'wall s':>7} {'cpu s':>6} {'flagged':>8}")
    for name, corpus in corpora.items():
        if corpus is None:
            print(f"{name:<8} skipped: {WNUT} not found")
            continue
        words, labels, lengths = corpus
        for max_n in (1, 3, 6, 10):
            times, cpu = [], []
            for _ in range(5):
                t0, c0 = time.perf_counter(), time.process_time()
                ev = variation_ngrams(words, labels, lengths, max_n=max_n)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            flagged = int((ev.score > 0).sum())
            print(
                f"{name:<8} {len(words):>9,} {max_n:>5} {statistics.median(times):>7.3f} "
                f"{statistics.median(cpu):>6.3f} "
                f"{flagged:>8,}"
            )


if __name__ == "__main__":
    main()

"""How good are the built-in tagger's probabilities, and what does faster training cost?

A label-noise benchmark on WNUT-17 (``../shared/data/wnut17``): 3% of the train split's tags
are corrupted with realistic confusions, the flips are kept as the truth, and the CRF is
cross-validated over train+dev+test as ``tokenclean find-issues`` does. For each training
setting it prints:

* token accuracy of the argmax against the *clean* tags (all splits);
* finding the flips: average precision and P@k (k = number of flips) of the self-confidence
  ranking over all tokens, and precision/recall of cleanlab's default ``find_label_issues``;
* wall time and CPU time (this process and its workers).

The corruption (seed 0): whole-entity type swaps (40%), boundary shifts (20%: an entity grows
or shrinks by one token), dropped entities (20%: tagged O) and spurious entities (20%: a
capitalised O token becomes a one-token entity), drawn until 3% of the train tokens differ.

Usage: ``python benches/tagger_quality.py [--settings default,lbfgs50,...] [--jobs N]``.
The figures are in-sample for the choice of the default setting: choosing among a handful of
settings on this benchmark is the tuning; the CoNLL-2003 figures (``benches/quality_conll.py``)
are the held-out check.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import tokenclean
from tokenclean.models import cross_val_pred_probs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wnut17" / "wnut17.npz"

SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "lbfgs50": {"max_iterations": 50},
    "lbfgs30": {"max_iterations": 30},
    "lbfgs20": {"max_iterations": 20},
    "lbfgs15": {"max_iterations": 15},
    "lbfgs30-minfreq2": {"max_iterations": 30, "feature.minfreq": 2},
    "l2sgd10": {"algorithm": "l2sgd", "c2": 0.1, "max_iterations": 10},
    "l2sgd20": {"algorithm": "l2sgd", "c2": 0.1, "max_iterations": 20},
}


def load(path: Path) -> tuple[list[list[str]], list[list[str]], np.ndarray, list[str]]:
    z = np.load(path)
    cuts = np.cumsum(z["lengths"])[:-1]
    names = z["class_names"].tolist()
    tokens = [part.tolist() for part in np.split(z["tokens_flat"], cuts)]
    tags = [[names[i] for i in part] for part in np.split(z["labels_flat"], cuts)]
    return tokens, tags, z["split"], names


def entities(sentence: list[str]) -> list[tuple[int, int, str]]:
    """IOB2 spans (start, end, type) of one sentence."""
    spans: list[tuple[int, int, str]] = []
    for i, tag in enumerate(sentence):
        if tag.startswith("B-") or (tag.startswith("I-") and (not spans or spans[-1][1] != i)):
            spans.append((i, i + 1, tag[2:]))
        elif tag.startswith("I-") and spans[-1][2] == tag[2:]:
            spans[-1] = (spans[-1][0], i + 1, spans[-1][2])
    return spans


def corrupt(
    tokens: list[list[str]], tags: list[list[str]], split: np.ndarray, rate: float, seed: int
) -> list[list[str]]:
    """A copy of ``tags`` with about ``rate`` of the train tokens' tags changed."""
    rng = np.random.default_rng(seed)
    noisy = [list(s) for s in tags]
    train = np.flatnonzero(split == 0)
    n_train = sum(len(tags[s]) for s in train)
    types = sorted({t[2:] for s in tags for t in s if t != "O"})
    goal = round(rate * n_train)

    def changed() -> int:
        return sum(a != b for s in train for a, b in zip(tags[s], noisy[s], strict=False))

    done = 0
    while done < goal:
        s = int(rng.choice(train))
        sentence = noisy[s]
        spans = entities(sentence)
        op = rng.choice(["swap", "shift", "drop", "spurious"], p=[0.4, 0.2, 0.2, 0.2])
        if op == "spurious":
            free = [i for i, t in enumerate(sentence) if t == "O" and tokens[s][i][:1].isupper()]
            if not free:
                continue
            sentence[int(rng.choice(free))] = "B-" + str(rng.choice(types))
        elif not spans:
            continue
        else:
            a, b, kind = spans[int(rng.integers(len(spans)))]
            if op == "swap":
                new = str(rng.choice([t for t in types if t != kind]))
                for i in range(a, b):
                    sentence[i] = ("B-" if i == a else "I-") + new
            elif op == "drop":
                for i in range(a, b):
                    sentence[i] = "O"
            elif b < len(sentence) and sentence[b] == "O" and rng.random() < 0.5:
                sentence[b] = "I-" + kind  # grows by one token
            elif b - a > 1:
                sentence[b - 1] = "O"  # shrinks by one token
            else:
                continue
        done = changed()
    return noisy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is missing")
        return
    tokens, clean, split, names = load(DATA)
    noisy = corrupt(tokens, clean, split, rate=0.03, seed=0)
    clean_ids = flat_ids(clean, names)
    noisy_ids = flat_ids(noisy, names)
    truth = clean_ids != noisy_ids
    lengths = [len(s) for s in noisy]
    n = len(noisy_ids)
    print(
        f"WNUT-17 train+dev+test: {len(tokens)} sentences, {n} tokens; "
        f"{truth.sum()} train tags corrupted ({truth.sum() / (split == 0).sum():.1f} per train "
        "sentence)"
    )
    header = "| setting | accuracy (clean tags) | AP | P@k | cleanlab P / R | wall s | CPU s |"
    print(header)
    print("|" + " --- |" * 7)
    for name in args.settings.split(","):
        before = _cpu()
        start = time.perf_counter()
        pred_probs, classes = cross_val_pred_probs(
            tokens, noisy, n_jobs=args.jobs, class_names=names, crf_params=SETTINGS[name]
        )
        wall = time.perf_counter() - start
        cpu = _cpu() - before
        assert classes == names
        flat = np.concatenate(pred_probs)
        accuracy = float((flat.argmax(axis=1) == clean_ids).mean())
        self_confidence = flat[np.arange(n), noisy_ids]
        order = np.argsort(self_confidence, kind="stable")
        ap, p_at_k = ranking_quality(truth[order], int(truth.sum()))
        labels = np.split(noisy_ids, np.cumsum(lengths)[:-1])
        found = tokenclean.find_label_issues([x.tolist() for x in labels], pred_probs)
        starts = np.concatenate(([0], np.cumsum(lengths)))
        flagged = np.array([starts[s] + t for s, t in found], dtype=np.int64)
        hits = int(truth[flagged].sum()) if len(flagged) else 0
        precision = hits / max(len(flagged), 1)
        recall = hits / int(truth.sum())
        print(
            f"| {name} {SETTINGS[name] or ''} | {accuracy:.4f} | {ap:.3f} | {p_at_k:.3f} | "
            f"{precision:.3f} / {recall:.3f} | {wall:.1f} | {cpu:.1f} |",
            flush=True,
        )


def flat_ids(tags: list[list[str]], names: list[str]) -> np.ndarray:
    """The class id of every tag, sentences concatenated."""
    column = {name: i for i, name in enumerate(names)}
    return np.array([column[t] for s in tags for t in s], dtype=np.int64)


def ranks(score: np.ndarray) -> np.ndarray:
    """Each token's place in the ranking by decreasing score (0 = most suspect; ties by
    position)."""
    order = np.argsort(-score, kind="stable")
    out = np.empty(len(score))
    out[order] = np.arange(len(score))
    return out


def ranking_quality(hits_in_order: np.ndarray, n_true: int) -> tuple[float, float]:
    """Average precision and P@k (k = n_true) of a ranking given as hit flags."""
    cumulative = np.cumsum(hits_in_order)
    ranks = np.flatnonzero(hits_in_order) + 1
    ap = float((cumulative[ranks - 1] / ranks).sum() / n_true) if n_true else 0.0
    return ap, float(cumulative[n_true - 1] / n_true) if n_true else 0.0


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    sys.exit(main())

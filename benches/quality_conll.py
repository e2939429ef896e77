"""Detection quality on CoNLL-2003 test against the CoNLL++ corrections (309 token errors).

Needs the shared data ``conll2003.npz`` (set CONLL2003_NPZ; by default
``../shared/data/conll2003/conll2003.npz`` beside the repository); prints a message and exits 0
without it.

Rankings compared, each scored by ``tokenclean.evaluate`` (P@k with k = the number of true
errors, recall of the whole list, average precision; entity level too):

* cleanlab: ``tokenclean.find_label_issues`` (cleanlab's default method, ranked by
  self-confidence) on the train+test CV probabilities (``joint``) and the test-only ones;
* self-confidence: every token ranked by ``1 - p[given]``, for each probability set and their
  mean (``ens`` = the ensemble of the two);
* n-grams: variation n-grams alone (``tokenclean.ngrams``, defaults: max_n=6, sentence
  boundaries as context), over the train+test word ids, exact (``case``) or lower-cased
  (``lower``); tokens with evidence ranked by score;
* combinations of self-confidence ``sc = 1 - p[given]`` and the n-gram score ``ng`` (exact
  case unless marked ``lower``): ``sc * (1 + w * ng)`` and ``p[given] * (1 - w * ng / (1 + w))``
  (w tuned), the mean of their ranks (untuned), and ``sc + w * ng * p[n-gram's suggestion]``.

Protocol (no tuning on the reported data): test sentences are split into even and odd
indices. Every weight is chosen by AP on the even sentences; the "odd" columns are the
out-of-sample figures; "even AP" is the in-sample figure the choices were made on (including
the choice of exact-case ids over lower-cased ones). Methods without a weight are also
reported on the whole test set ("all", P@309); a tuned method's "all" figure is partly
in-sample and marked with *.

    python benches/quality_conll.py
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tokenclean
from tokenclean.evaluate import Evaluation, entity_errors, evaluate_spans, evaluate_tokens
from tokenclean.ngrams import variation_ngrams

NPZ = Path(
    os.environ.get(
        "CONLL2003_NPZ",
        Path(__file__).resolve().parents[1].parent / "shared/data/conll2003/conll2003.npz",
    )
)
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def ranking(score: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Token indices by decreasing score (ties by position); only ``keep`` tokens if given."""
    idx = np.arange(len(score)) if keep is None else np.flatnonzero(keep)
    return idx[np.argsort(-score[idx], kind="stable")]


class Judge:
    def __init__(self, z: np.lib.npyio.NpzFile) -> None:
        self.lengths = z["lengths"].astype(np.int64)
        self.truth = z["is_diff_flat"].astype(bool)
        names = z["class_names"]
        self.given = names[z["labels_flat"]]
        self.corrected = names[z["conllpp_labels_flat"]]
        self.sentence = np.repeat(np.arange(len(self.lengths)), self.lengths)
        self.starts = np.concatenate(([0], np.cumsum(self.lengths)))
        cuts = self.starts[1:-1]
        self.errors = entity_errors(np.split(self.given, cuts), np.split(self.corrected, cuts))
        self.halves = {
            "all": np.ones(len(self.truth), dtype=bool),
            "even": self.sentence % 2 == 0,
            "odd": self.sentence % 2 == 1,
        }

    def tokens(self, ranked: np.ndarray, half: str) -> Evaluation:
        mask = self.halves[half]
        return evaluate_tokens(ranked[mask[ranked]], self.truth & mask, ks=[])

    def entities(self, ranked: np.ndarray, half: str) -> Evaluation:
        mask = self.halves[half]
        ranked = ranked[mask[ranked]]
        s = self.sentence[ranked]
        t = ranked - self.starts[s]
        parity = {"all": None, "even": 0, "odd": 1}[half]
        errors = [e for e in self.errors if parity is None or e[0] % 2 == parity]
        flagged = [(int(a), int(b), int(b) + 1) for a, b in zip(s, t, strict=False)]
        return evaluate_spans(flagged, errors, ks=[])


def main() -> int:
    if not NPZ.exists():
        print(f"skipped: {NPZ} not found (the shared CoNLL-2003 data)")
        return 0
    z = np.load(NPZ)
    judge = Judge(z)
    labels = z["labels_flat"].astype(np.int64)
    rows = np.arange(len(labels))
    probs = {"joint": z["pred_probs_joint_flat"], "test-only": z["pred_probs_flat"]}
    probs["ens"] = (probs["joint"].astype(np.float64) + probs["test-only"]) / 2
    p_given = {name: p[rows, labels].astype(np.float64) for name, p in probs.items()}

    tags = np.concatenate([labels, z["train_labels_flat"].astype(np.int64)])
    lens = np.concatenate([z["lengths"], z["train_lengths"]]).astype(np.int64)
    n = len(labels)
    evidence = {}
    for ids in ("token", "lower"):
        words = np.concatenate([z[f"{ids}_ids_flat"], z[f"train_{ids}_ids_flat"]])
        t0 = time.process_time()
        evidence[ids] = variation_ngrams(words, tags, lens)
        ngram_cpu = time.process_time() - t0
    ng = evidence["token"].score[:n]
    ng_lower = evidence["lower"].score[:n]
    suggested = evidence["token"].suggested[:n]

    results: list[tuple[str, str, np.ndarray]] = []  # (name, note, ranking)

    def add(name: str, ranked: np.ndarray, note: str = "") -> None:
        results.append((name, note, ranked))

    cuts = judge.starts[1:-1]
    for name in ("joint", "test-only"):
        found = tokenclean.find_label_issues(
            np.split(labels, cuts),
            np.split(probs[name], cuts),
            return_indices_ranked_by="self_confidence",
        )
        pairs = np.array(found, dtype=np.int64).reshape(-1, 2)
        add(f"cleanlab find_label_issues ({name})", judge.starts[pairs[:, 0]] + pairs[:, 1])
    for name in probs:
        add(f"self-confidence ({name})", ranking(1 - p_given[name]))
    add("variation n-grams (case)", ranking(ng, ng > 0))
    add("variation n-grams (lower)", ranking(ng_lower, ng_lower > 0))

    def tuned(name: str, make: Callable[[float], np.ndarray]) -> None:
        best = max(WEIGHTS, key=lambda w: judge.tokens(ranking(make(w)), "even").average_precision)
        add(f"{name}, w={best:g}", ranking(make(best)), "tuned")

    for src in ("joint", "ens"):
        sc = 1 - p_given[src]
        tuned(f"sc({src}) * (1 + w*ng)", lambda w, sc=sc: sc * (1 + w * ng))
        tuned(f"sc({src}) * (1 + w*ng lower)", lambda w, sc=sc: sc * (1 + w * ng_lower))
        tuned(f"p({src}) * (1 - w*ng) asc", lambda w, sc=sc: -(1 - sc) * (1 - w * ng / (w + 1)))
        p_sugg = probs[src][rows, suggested].astype(np.float64)
        tuned(f"sc({src}) + w*ng*p[sugg]", lambda w, sc=sc, p=p_sugg: sc + w * ng * p)
        rank_sc = np.argsort(np.argsort(-sc, kind="stable"), kind="stable")
        rank_ng = np.argsort(np.argsort(-ng, kind="stable"), kind="stable")
        add(f"rank mean sc({src}), ng", ranking(-(rank_sc + rank_ng).astype(np.float64)))

    k_all = int(judge.truth.sum())
    k_odd = int((judge.truth & judge.halves["odd"]).sum())
    print(
        f"CoNLL-2003 test vs CoNLL++: {k_all} token errors ({k_odd} in odd sentences), "
        f"{len(judge.errors)} entity errors; n-grams over {len(tags):,} tokens in "
        f"{ngram_cpu:.2f} s CPU"
    )
    print("token level: all = whole test set (P@309); odd = odd sentences (P@k, k = errors)")
    print("entity level: odd sentences; * = weight tuned on the even sentences (all: in-sample)")
    head = (
        f"{'method':<42} {'flag':>6} | {'P@309':>6} {'rec':>5} {'AP':>5} | "
        f"{'odd P@k':>7} {'rec':>5} {'AP':>5} | {'ent P@k':>7} {'AP':>5} | {'even AP':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, note, ranked in results:
        a = judge.tokens(ranked, "all")
        o = judge.tokens(ranked, "odd")
        e = judge.entities(ranked, "odd")
        even_ap = judge.tokens(ranked, "even").average_precision
        star = "*" if note == "tuned" else " "
        p_all = a.precision_at[a.errors]
        print(
            f"{name:<42} {len(ranked):>6} | {p_all:>5.3f}{star} {a.recall:>5.3f} "
            f"{a.average_precision:>5.3f} | {o.precision_at[o.errors]:>7.3f} {o.recall:>5.3f} "
            f"{o.average_precision:>5.3f} | {e.precision_at[e.errors]:>7.3f} "
            f"{e.average_precision:>5.3f} | {even_ap:>7.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

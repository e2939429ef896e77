"""Detection quality of entity-level issues on CoNLL-2003 test, judged by CoNLL++.

Truth: the entity-level differences between the original test tags and the CoNLL++
corrections, i.e. the groups of linked original/corrected spans that differ (as
``tokenclean.spans`` compares spans), and at token level the 309 tokens whose tag differs.

Entity level: a flagged issue is a hit if it overlaps a differing token; P@k is the share of
hits in the top k issues (k = number of true differences); recall is the share of true
differences that some issue overlaps, over the whole list; AP is the area under the stepwise
precision-recall curve (precision at each issue that covers a new true difference, weighted
by the recall it adds). Token level: the issues' ``tokens`` in rank order, P@309 and AP over
the 309 differing tokens.

Scoring choices (decode x aggregate x entity_weight) are compared on the even sentences; the
chosen one is reported on the odd sentences (out of sample). Figures on all sentences are
in-sample for the choice. Prints a table; asserts nothing. Skips if the data file is absent.

    python benches/quality_spans.py [--data PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tokenclean import _core
from tokenclean.spans import find_span_issues, parse_class_names

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/conll2003/conll2003.npz"
WEIGHTS = (1.0, 2.0, 4.0, 8.0)


def truth_groups(
    labels: np.ndarray, corrected: np.ndarray, lengths: np.ndarray, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sentence, flat start, flat end) of each differing group of spans."""
    codes, types, _ = parse_class_names(names)
    d = _core.spans_compare(labels, corrected, lengths, codes, types, "IOB2")
    keep = d["kind"] != 4  # a malformed group that both agree on is no difference
    return d["sentence"][keep], d["start"][keep], d["end"][keep]


def entity_figures(
    issues: list[dict[str, Any]],
    first: np.ndarray,
    diff: np.ndarray,
    truth: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[float, float, float, int]:
    """P@k, recall, AP at entity level, and k."""
    _, t_start, t_end = truth
    k = len(t_start)
    owner = np.full(diff.shape[0], -1)
    for g, (a, e) in enumerate(zip(t_start.tolist(), t_end.tolist(), strict=False)):
        owner[a:e] = g
    covered = np.zeros(k, dtype=bool)
    hits = 0
    ap = 0.0
    top_hits = 0
    for rank, issue in enumerate(issues, 1):
        a = int(first[issue["sentence"]]) + issue["start"]
        e = int(first[issue["sentence"]]) + issue["end"]
        hit = bool(diff[a:e].any())
        hits += hit
        if rank <= k:
            top_hits += hit
        if hit:
            groups = np.unique(owner[a:e][diff[a:e]])
            new = [g for g in groups.tolist() if g >= 0 and not covered[g]]
            if new:
                covered[new] = True
                ap += len(new) / k * hits / rank
    return top_hits / k, covered.sum() / k, ap, k


def token_figures(
    issues: list[dict[str, Any]], first: np.ndarray, diff: np.ndarray
) -> tuple[float, float, int]:
    """P@k (k = differing tokens), AP, k, for issues expanded to their tokens."""
    k = int(diff.sum())
    hits = 0
    ap = 0.0
    top = 0
    rank = 0
    for issue in issues:
        base = int(first[issue["sentence"]])
        for t in issue["tokens"]:
            rank += 1
            hit = bool(diff[base + t])
            hits += hit
            if rank <= k:
                top += hit
            if hit:
                ap += hits / rank / k
    return top / k, ap, k


def self_confidence_tokens(
    probs: np.ndarray, labels: np.ndarray, diff: np.ndarray, mask: np.ndarray
) -> tuple[float, float]:
    """Baseline: every token ranked by the probability of its given tag."""
    q = probs[np.arange(labels.shape[0]), labels][mask]
    truth = diff[mask]
    order = np.argsort(q, kind="stable")
    rel = truth[order]
    k = int(truth.sum())
    prec = np.cumsum(rel) / np.arange(1, rel.size + 1)
    return float(rel[:k].mean()), float((prec * rel).sum() / k)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is absent")
        return 0
    z = np.load(args.data)
    names = [str(c) for c in z["class_names"]]
    labels = z["labels_flat"].astype(np.int64)
    corrected = z["conllpp_labels_flat"].astype(np.int64)
    lengths = z["lengths"].astype(np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)])
    sentence_of = np.repeat(np.arange(lengths.size), lengths)
    diff = labels != corrected
    truth = truth_groups(labels, corrected, lengths, names)
    halves = {"even": 0, "odd": 1}
    print(f"{len(truth[0])} differing span groups, {int(diff.sum())} differing tokens")
    header = (
        f"{'probs':<6} {'half':<5} {'decode':<8} {'aggregate':<8} {'weight':>6} {'issues':>6} "
        f"{'k':>4} {'P@k':>6} {'recall':>6} {'AP':>6} | {'tok P@k':>7} {'tok AP':>6}"
    )
    for key in ("pred_probs_flat", "pred_probs_joint_flat"):
        probs = z[key]
        short = "test" if key == "pred_probs_flat" else "joint"
        print(f"\n{key}")
        print(header)
        best: tuple[float, str, str, float] | None = None
        results: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
        for decode in ("viterbi", "argmax"):
            for aggregate in ("mean", "min", "changed"):
                for weight in WEIGHTS:
                    results[decode, aggregate, weight] = find_span_issues(
                        labels,
                        probs,
                        names,
                        lengths=lengths,
                        decode=decode,
                        aggregate=aggregate,
                        entity_weight=weight,
                    )
        for half, parity in halves.items():
            mask = sentence_of % 2 == parity
            half_diff = diff & mask
            keep = (truth[0] % 2) == parity
            half_truth = (truth[0][keep], truth[1][keep], truth[2][keep])
            for (decode, aggregate, weight), issues in results.items():
                mine = [i for i in issues if i["sentence"] % 2 == parity]
                p, r, ap, k = entity_figures(mine, first, half_diff, half_truth)
                tp, tap, _ = token_figures(mine, first, half_diff)
                print(
                    f"{short:<6} {half:<5} {decode:<8} {aggregate:<8} {weight:>6g} "
                    f"{len(mine):>6} {k:>4} {p:>6.3f} {r:>6.3f} {ap:>6.3f} | {tp:>7.3f} "
                    f"{tap:>6.3f}"
                )
                if half == "even" and (best is None or ap > best[0]):
                    best = (ap, decode, aggregate, weight)
            sp, sap = self_confidence_tokens(probs, labels, diff, mask)
            label = "token self-confidence baseline"
            print(f"{short:<6} {half:<5} {label:<64}| {sp:>7.3f} {sap:>6.3f}")
        assert best is not None
        _, decode, aggregate, weight = best
        print(
            f"chosen on even sentences (entity AP): decode={decode}, aggregate={aggregate}, "
            f"entity_weight={weight:g}"
        )
        issues = results[decode, aggregate, weight]
        p, r, ap, k = entity_figures(issues, first, diff, truth)
        tp, tap, tk = token_figures(issues, first, diff)
        print(
            f"all sentences (in-sample for the choice): entity P@{k}={p:.3f} recall={r:.3f} "
            f"AP={ap:.3f}; token P@{tk}={tp:.3f} AP={tap:.3f}; {len(issues)} issues"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

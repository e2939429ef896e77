"""Does the combined detector's form generalise? The same rankings on two corpora.

The combined detector, ``(1 - p[given]) * (1 + v)``, was chosen on half of the CoNLL-2003 test
sentences (``benches/quality_conll.py``). A form tuned on one corpus can ride that corpus's
quirks, so every candidate here is also scored on a second, unrelated corpus with a different
kind of noise:

* ``wnut S``: WNUT-17 train+dev+test with 3% of the train tags corrupted (seed S; the
  corruption of ``benches/tagger_quality.py``: type swaps, boundary shifts, dropped and
  spurious entities), probabilities from the built-in cross-validated CRF trained on the noisy
  tags, word ids from the text; truth = the corrupted tokens (1,882);
* ``conll even`` / ``conll odd``: CoNLL-2003 test against the CoNLL++ corrections, from the
  shared train+test CV probabilities and word ids (n-grams over train+test); truth = the 309
  corrected tokens, split by sentence parity as in ``quality_conll.py``.

Each cell is ``AP / P@k`` (k = the number of true errors in that part) over all its tokens.
Rankings (``sc = 1 - p[given]``, ``v`` = variation n-gram score, ``t`` = the mean ``p[given]``
of the tokens given the same class, cleanlab's per-class threshold, ``m`` = the best other
class's probability):

* ``sc``: self-confidence alone; ``v``: the n-grams alone;
* ``sc * (1 + v)``: the combined detector (the default);
* ``sc + v``, ``sc * (1 + 2v)``, ``sc * (1 + v/2)``: other weights and a sum;
* ``(t - p[given]) * (1 + v)``: doubt measured against the class's own threshold;
* ``(m - p[given] + 1) * (1 + v)``: the normalised margin in place of ``sc``;
* ``rank mean``: the mean of the two rankings' ranks.

Needs ``../shared/data/wnut17/wnut17.npz`` and ``../shared/data/conll2003/conll2003.npz``
(skipped parts are said). About a minute on two cores, most of it training the CRFs.

    python benches/detector_forms.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagger_quality import DATA as WNUT
from tagger_quality import corrupt, flat_ids, load, ranking_quality, ranks

from tokenclean.models import cross_val_pred_probs
from tokenclean.ngrams import variation_ngrams, word_ids

CONLL = Path(__file__).resolve().parents[1].parent / "shared/data/conll2003/conll2003.npz"
Floats = npt.NDArray[np.float64]


@dataclass
class Case:
    name: str
    probs: Floats  # (N, K) for the scored tokens
    labels: npt.NDArray[np.int64]
    score_v: Floats  # variation n-gram score of the scored tokens
    truth: npt.NDArray[np.bool_]
    parts: dict[str, npt.NDArray[np.bool_]]


def _wnut(seed: int) -> Case:
    tokens, clean, split, names = load(WNUT)
    noisy = corrupt(tokens, clean, split, rate=0.03, seed=seed)
    clean_ids = flat_ids(clean, names)
    labels = flat_ids(noisy, names)
    probs, _ = cross_val_pred_probs(tokens, noisy, class_names=names, progress=False)
    ids, lengths = word_ids(tokens)
    v = variation_ngrams(ids, labels, lengths).score
    everything = np.ones(len(labels), dtype=bool)
    return Case(
        f"wnut {seed}",
        np.concatenate(probs).astype(np.float64),
        labels,
        v,
        clean_ids != labels,
        {"": everything},
    )


def _conll() -> Case:
    z = np.load(CONLL)
    labels = z["labels_flat"].astype(np.int64)
    n = len(labels)
    lengths = z["lengths"].astype(np.int64)
    words = np.concatenate([z["token_ids_flat"], z["train_token_ids_flat"]])
    tags = np.concatenate([labels, z["train_labels_flat"].astype(np.int64)])
    lens = np.concatenate([lengths, z["train_lengths"].astype(np.int64)])
    v = variation_ngrams(words, tags, lens).score[:n]
    sentence = np.repeat(np.arange(len(lengths)), lengths)
    return Case(
        "conll",
        z["pred_probs_joint_flat"].astype(np.float64),
        labels,
        v,
        z["is_diff_flat"].astype(bool),
        {" even": sentence % 2 == 0, " odd": sentence % 2 == 1},
    )


def cases() -> Iterator[Case]:
    if WNUT.exists():
        for seed in (0, 1, 2):
            yield _wnut(seed)
    else:
        print(f"skipped: {WNUT} is missing")
    if CONLL.exists():
        yield _conll()
    else:
        print(f"skipped: {CONLL} is missing")


def _class_threshold(p_given: Floats, labels: npt.NDArray[np.int64]) -> Floats:
    sums = np.bincount(labels, weights=p_given)
    counts = np.bincount(labels)
    return (sums / np.maximum(counts, 1))[labels]


Form = Callable[[Case, Floats], Floats]
FORMS: dict[str, Form] = {
    "sc": lambda c, pg: 1 - pg,
    "v": lambda c, pg: c.score_v,
    "sc * (1 + v)  [default]": lambda c, pg: (1 - pg) * (1 + c.score_v),
    "sc + v": lambda c, pg: (1 - pg) + c.score_v,
    "sc * (1 + 2v)": lambda c, pg: (1 - pg) * (1 + 2 * c.score_v),
    "sc * (1 + v/2)": lambda c, pg: (1 - pg) * (1 + c.score_v / 2),
    "(t - p[given]) * (1 + v)": lambda c, pg: (
        (_class_threshold(pg, c.labels) - pg) * (1 + c.score_v)
    ),
    "(m - p[given] + 1) * (1 + v)": lambda c, pg: (_best_other(c) - pg + 1) * (1 + c.score_v),
    "rank mean": lambda c, pg: -(ranks(1 - pg) + ranks(c.score_v)),
}


def _best_other(c: Case) -> Floats:
    others = c.probs.copy()
    others[np.arange(len(c.labels)), c.labels] = -1.0
    best: Floats = others.max(axis=1)
    return best


def main() -> int:
    columns: list[str] = []
    table: dict[str, list[str]] = {name: [] for name in FORMS}
    for case in cases():
        p_given = case.probs[np.arange(len(case.labels)), case.labels]
        for part, mask in case.parts.items():
            columns.append(case.name + part)
            for name, form in FORMS.items():
                score = form(case, p_given)
                idx = np.flatnonzero(mask)
                order = idx[np.argsort(-score[idx], kind="stable")]
                ap, p_at_k = ranking_quality(case.truth[order], int(case.truth[mask].sum()))
                table[name].append(f"{ap:.3f} / {p_at_k:.3f}")
    if not columns:
        return 0
    print("AP / P@k, k = true errors in each column; every token ranked")
    print("| ranking | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name, cells in table.items():
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

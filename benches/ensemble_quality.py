"""How should an ensemble of the built-in tagger's members be combined?

``--ensemble N`` trains N cross-validated CRFs on different fold splits (seeds) and averages
their probabilities. The mean of probabilities is one of several ways to pool members; this
benchmark measures it against the others on WNUT-17 with 3% synthetic label noise (the
corruption of ``benches/tagger_quality.py``, noise seeds 0 and 1; truth = the corrupted
tokens):

* ``member``: one member alone (the mean of the members' figures);
* ``mean probability``: the members' probabilities averaged, then scored as one model;
* ``mean rank``: each member's ranking by self-confidence, ranks averaged;
* ``agreement``: how many members' most probable tag differs from the given one, ties broken
  by the mean self-confidence;
* ``diverse``: the mean probability of members that differ in their training too (fold seed
  plus a lighter or heavier L2 penalty), a cheap stand-in for feature subsets.

Each is scored by self-confidence alone (``sc``) and inside the combined detector
(``sc * (1 + v)``, v = variation n-grams); cells are AP / P@k (k = 1,882) over all tokens.

    python benches/ensemble_quality.py [--members 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tagger_quality import DATA, corrupt, flat_ids, load, ranking_quality, ranks

from tokenclean.models import cross_val_pred_probs
from tokenclean.ngrams import variation_ngrams, word_ids

Floats = npt.NDArray[np.float64]


def _figures(sc: Floats, v: Floats, truth: npt.NDArray[np.bool_]) -> Floats:
    """AP and P@k of ``sc``, then of ``sc * (1 + v)``."""
    out: list[float] = []
    for score in (sc, sc * (1 + v)):
        order = np.argsort(-score, kind="stable")
        out.extend(ranking_quality(truth[order], int(truth.sum())))
    return np.array(out)


def _cells(f: Floats) -> str:
    return f"{f[0]:.3f} / {f[1]:.3f} | {f[2]:.3f} / {f[3]:.3f}"


def _one_noise(noise_seed: int, n_members: int) -> None:
    tokens, clean, split, names = load(DATA)
    clean_ids = flat_ids(clean, names)
    ids, lengths = word_ids(tokens)
    noisy = corrupt(tokens, clean, split, rate=0.03, seed=noise_seed)
    labels = flat_ids(noisy, names)
    rows = np.arange(len(labels))
    truth = clean_ids != labels
    v = variation_ngrams(ids, labels, lengths).score

    def train(seed: int, params: dict[str, float] | None = None) -> Floats:
        probs, _ = cross_val_pred_probs(
            tokens, noisy, seed=seed, class_names=names, crf_params=params
        )
        return np.concatenate(probs).astype(np.float64)

    members = [train(seed) for seed in range(n_members)]
    # member 0 keeps the default penalty (c2 = 0.1), so it is reused
    penalties = [{"c2": 0.03}, {"c2": 0.3}]
    diverse = members[:1] + [train(seed, penalties[(seed - 1) % 2]) for seed in range(1, n_members)]

    sc_members = [1 - m[rows, labels] for m in members]
    mean_sc = np.mean(sc_members, axis=0)
    votes = np.sum([m.argmax(axis=1) != labels for m in members], axis=0)
    pooled = {
        "member": np.mean([_figures(sc, v, truth) for sc in sc_members], axis=0),
        "mean probability": _figures(1 - np.mean(members, axis=0)[rows, labels], v, truth),
        # a rank-based score in (0, 1], so that (1 + v) still sharpens it
        "mean rank": _figures(
            1 - np.mean([ranks(sc) for sc in sc_members], axis=0) / len(rows), v, truth
        ),
        "agreement": _figures((votes + mean_sc) / (n_members + 1), v, truth),
        "diverse": _figures(1 - np.mean(diverse, axis=0)[rows, labels], v, truth),
    }
    for name, f in pooled.items():
        print(f"| {noise_seed} | {name} | {_cells(f)} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is missing")
        return 0
    print(f"WNUT-17, 3% noise; {args.members} members; AP / P@k over all tokens")
    print("| noise seed | pooling | sc | sc * (1 + v) |")
    print("| --- | --- | --- | --- |")
    for noise_seed in (0, 1):
        _one_noise(noise_seed, args.members)
    return 0


if __name__ == "__main__":
    sys.exit(main())

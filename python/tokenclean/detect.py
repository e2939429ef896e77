"""From tokens and string tags to ranked issues, in one call.

:func:`find_issues` is the whole job for a corpus held in memory: it computes out-of-sample
probabilities with the built-in cross-validated CRF (:mod:`tokenclean.models`) unless you
bring your own, finds the label issues with :func:`tokenclean.find_label_issues`, and returns
them with their words and suggested tags, most suspect first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenclean import _core
from tokenclean._options import float_probs
from tokenclean.token_classification.filter import find_label_issues

__all__ = [
    "METHODS",
    "Suspicion",
    "TokenIssue",
    "combined_scores",
    "ensemble_pred_probs",
    "find_issues",
]

#: Detection methods: ``"combined"`` (the default) and ``"cleanlab"`` (cleanlab's exact
#: ``find_label_issues``).
METHODS = ("combined", "cleanlab")


@dataclass(frozen=True)
class Suspicion:
    """The combined detector's verdict on every token (sentences concatenated).

    Attributes:
        quality: ``1 - (1 - p[given]) * (1 + v) / 2`` in ``[0, 1]``, where ``v`` is the
            variation n-gram score; lower is more suspect.
        suggested: the tag the evidence prefers: the model's most probable tag, or where the
            model agrees with the given tag, the n-gram's majority tag.
        flagged: tokens whose suggested tag differs from the given one, most suspect first
            (ties by position).
    """

    quality: npt.NDArray[np.float64]
    suggested: npt.NDArray[np.int64]
    flagged: npt.NDArray[np.int64]


def ensemble_pred_probs(
    members: Sequence[npt.NDArray[np.floating[Any]]],
) -> npt.NDArray[np.floating[Any]]:
    """The probabilities of an ensemble: the mean of its members' ``(N, K)`` probabilities.

    An ensemble of one member is that member (the same array, not a copy). The mean of
    probabilities, rather than of ranks or votes, keeps an ensemble a probability model, so it
    feeds every detector as one model would. With three fold-split CRFs on WNUT-17 with 3%
    noise it beat the mean rank and the votes, and a single member by about 0.01 in AP
    (``benches/ensemble_quality.py``); on CoNLL-2003 (``benches/quality_conll.py``) averaging
    two CRFs did not beat the better of the two. So the built-in tagger uses one member unless
    asked (``--ensemble N``).

    >>> a = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> ensemble_pred_probs([a, np.array([[0.7, 0.3], [0.4, 0.6]])]).tolist()
    [[0.8, 0.2], [0.30000000000000004, 0.7]]
    >>> ensemble_pred_probs([a]) is a
    True
    """
    if not members:
        raise ValueError("an ensemble needs at least one member")
    if len(members) == 1:
        return members[0]
    shapes = {np.shape(m) for m in members}
    if len(shapes) > 1:
        raise ValueError(f"ensemble members differ in shape: {sorted(shapes)}")
    total = np.zeros(np.shape(members[0]), dtype=np.float64)
    for member in members:
        total += member
    total /= len(members)
    return total


def combined_scores(
    labels: npt.NDArray[np.integer[Any]],
    pred_probs: npt.NDArray[np.floating[Any]],
    lengths: npt.ArrayLike,
    word_ids: npt.ArrayLike,
) -> Suspicion:
    """The combined detector: a model's self-confidence sharpened by variation n-grams.

    A token is suspect when the model gives its tag a low probability, and more so when the
    same words are tagged otherwise elsewhere in the corpus. The suspicion is
    ``(1 - p[given]) * (1 + v)``, with ``v`` the variation n-gram score of
    :func:`tokenclean.ngrams.variation_ngrams` (``[0, 1]``; 0 without evidence). The weight 1
    of ``v`` and the product were chosen on half of the CoNLL-2003 test sentences, over
    ranks, sums and weights from 1/4 to 16, and the figures of the README are measured on the
    other half. Both parts are model-agnostic: any out-of-sample probabilities, any word ids
    (equal id = the same word; exact case worked best).

    Args:
        labels: ``(N,)`` given class ids, sentences concatenated.
        pred_probs: ``(N, K)`` out-of-sample probabilities.
        lengths: ``(S,)`` tokens per sentence.
        word_ids: ``(N,)`` an integer per token, equal for the same word
            (:func:`tokenclean.ngrams.word_ids` makes them from strings).

    >>> labels = np.array([1, 0, 1, 0, 0, 0])
    >>> probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.7, 0.3], [0.9, 0.1], [0.6, 0.4], [1.0, 0]])
    >>> found = combined_scores(labels, probs, [2, 2, 2], [7, 3, 7, 3, 7, 3])
    >>> found.flagged.tolist(), found.suggested.tolist()
    ([2, 4], [1, 0, 0, 0, 1, 0])
    """
    from tokenclean.ngrams import variation_ngrams

    labels = np.asarray(labels, dtype=np.int64)
    probs = np.asarray(pred_probs)
    evidence = variation_ngrams(np.asarray(word_ids, dtype=np.int64), labels, lengths)
    rows = np.arange(len(labels))
    self_confidence = probs[rows, labels].astype(np.float64)
    suspicion = (1.0 - self_confidence) * (1.0 + np.asarray(evidence.score, dtype=np.float64))
    suggested = probs.argmax(axis=1).astype(np.int64)
    agrees = suggested == labels
    ngram_says = np.asarray(evidence.suggested, dtype=np.int64)
    suggested[agrees] = ngram_says[agrees]
    candidates = np.flatnonzero(suggested != labels)
    flagged = candidates[np.argsort(-suspicion[candidates], kind="stable")]
    return Suspicion(1.0 - suspicion / 2.0, suggested, flagged)


@dataclass(frozen=True)
class TokenIssue:
    """One token whose given tag is likely wrong.

    Attributes:
        sentence: index of the sentence (0-based).
        token: index of the token in its sentence (0-based).
        word: the token.
        given: its given tag.
        suggested: the most probable tag.
        score: the ranking's label quality score (lower is more suspect).
    """

    sentence: int
    token: int
    word: str
    given: str
    suggested: str
    score: float


def find_issues(
    tokens: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]],
    *,
    pred_probs: Sequence[npt.ArrayLike] | Sequence[Sequence[npt.ArrayLike]] | None = None,
    class_names: Sequence[str] | None = None,
    n_folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
    rank_by: str = "self_confidence",
    method: str = "combined",
    progress: bool = False,
    **kwargs: Any,
) -> list[TokenIssue]:
    """Rank the tokens whose given tag is most likely wrong.

    Args:
        tokens: the words of each sentence.
        tags: the given tag of each token (strings).
        pred_probs: out-of-sample probabilities, one ``(T_i, K)`` array per sentence, with
            columns in the order of ``class_names`` (required with them); or a list of such
            lists, one per model, averaged as an ensemble (:func:`ensemble_pred_probs`).
            Without them the built-in CRF computes them
            (:func:`tokenclean.models.cross_val_pred_probs` with ``n_folds``, ``seed``,
            ``n_jobs`` and ``progress``).
        class_names: the tag of each column; by default
            :func:`tokenclean.models.class_order` of the tags.
        method: ``"combined"`` (:func:`combined_scores`: the probabilities and variation
            n-grams over the tokens; ``score`` is its ``quality``) or ``"cleanlab"``
            (:func:`tokenclean.find_label_issues`, cleanlab's exact answer; ``score`` is the
            ``rank_by`` label quality score).
        rank_by: ``return_indices_ranked_by`` of :func:`tokenclean.find_label_issues`.
        **kwargs: other keywords of :func:`tokenclean.find_label_issues` (``filter_by``, ...).

    Returns:
        The issues, most suspect first.

    >>> tokens = [["Anna", "lives", "in", "Oslo"], ["Oslo", "is", "cold"]] * 6
    >>> tags = [["B-PER", "O", "O", "B-LOC"], ["B-LOC", "O", "O"]] * 6
    >>> tags[3] = ["B-PER", "O", "O"]  # a slip: Oslo tagged as a person
    >>> issues = find_issues(tokens, tags, n_folds=3, n_jobs=1)
    >>> first = issues[0]
    >>> (first.sentence, first.word, first.given, first.suggested)
    (3, 'Oslo', 'B-PER', 'B-LOC')
    """
    from tokenclean.models import class_order, cross_val_pred_probs

    if pred_probs is not None and class_names is None:
        raise ValueError("pred_probs needs class_names: the tag of each column")
    names = list(class_names) if class_names is not None else class_order(tags)
    if pred_probs is None:
        pred_probs, names = cross_val_pred_probs(
            tokens,
            tags,
            n_folds=n_folds,
            seed=seed,
            n_jobs=n_jobs,
            class_names=names,
            progress=progress,
        )
    column = {name: i for i, name in enumerate(names)}
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} sentences of tokens but {len(tags)} of tags")
    labels = []
    for s, (words, sentence) in enumerate(zip(tokens, tags, strict=False)):
        if len(words) != len(sentence):
            raise ValueError(f"sentence {s}: {len(words)} tokens but {len(sentence)} tags")
        ids = []
        for t, tag in enumerate(sentence):
            if tag not in column:
                raise ValueError(f"sentence {s}, token {t}: tag {tag!r} is not in class_names")
            ids.append(column[tag])
        labels.append(ids)
    if len(pred_probs) and isinstance(pred_probs[0], (list, tuple)):
        models = [[np.asarray(p) for p in model] for model in pred_probs]  # type: ignore[union-attr]
        sizes = np.cumsum([len(p) for p in models[0]])[:-1]
        flat = ensemble_pred_probs([np.concatenate(model) for model in models])
        pred_probs = np.split(flat, sizes)
    probs = [float_probs(np.asarray(p)) for p in pred_probs]
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "combined":
        return _combined(tokens, labels, probs, names)
    if n_jobs is not None:
        kwargs.setdefault("n_jobs", n_jobs)
    found = find_label_issues(labels, probs, return_indices_ranked_by=rank_by, **kwargs)
    issues = []
    for s, t in found:
        row = probs[s][t : t + 1]
        given = labels[s][t]
        score = _core.label_quality_scores(np.array([given], dtype=np.int64), row, rank_by)[0]
        issues.append(
            TokenIssue(
                sentence=s,
                token=t,
                word=tokens[s][t],
                given=names[given],
                suggested=names[int(np.argmax(row[0]))],
                score=float(score),
            )
        )
    return issues


def _combined(
    tokens: Sequence[Sequence[str]],
    labels: list[list[int]],
    probs: list[npt.NDArray[np.floating[Any]]],
    names: list[str],
) -> list[TokenIssue]:
    from tokenclean.ngrams import word_ids

    lengths = np.array([len(s) for s in labels], dtype=np.int64)
    mismatched = any(p.shape[0] != n for p, n in zip(probs, lengths.tolist(), strict=False))
    if mismatched or len(probs) != len(lengths):
        raise ValueError("pred_probs must have one (T_i, K) array per sentence of tokens")
    flat_labels = np.fromiter((t for s in labels for t in s), dtype=np.int64, count=lengths.sum())
    k = {p.shape[1] for p in probs if p.ndim == 2}
    flat = np.concatenate(probs) if len(probs) else np.zeros((0, max(k or {1})))
    ids, _ = word_ids(tokens)
    found = combined_scores(flat_labels, flat, lengths, ids)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    sentence = np.searchsorted(starts, found.flagged, side="right") - 1
    return [
        TokenIssue(
            sentence=int(s),
            token=int(i - starts[s]),
            word=tokens[s][i - starts[s]],
            given=names[flat_labels[i]],
            suggested=names[found.suggested[i]],
            score=float(found.quality[i]),
        )
        for s, i in zip(sentence.tolist(), found.flagged.tolist(), strict=False)
    ]

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

__all__ = ["TokenIssue", "find_issues"]


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
    pred_probs: Sequence[npt.ArrayLike] | None = None,
    class_names: Sequence[str] | None = None,
    n_folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
    rank_by: str = "self_confidence",
    progress: bool = False,
    **kwargs: Any,
) -> list[TokenIssue]:
    """Rank the tokens whose given tag is most likely wrong.

    Args:
        tokens: the words of each sentence.
        tags: the given tag of each token (strings).
        pred_probs: out-of-sample probabilities, one ``(T_i, K)`` array per sentence, with
            columns in the order of ``class_names`` (required with them). Without them the
            built-in CRF computes them (:func:`tokenclean.models.cross_val_pred_probs` with
            ``n_folds``, ``seed``, ``n_jobs`` and ``progress``).
        class_names: the tag of each column; by default
            :func:`tokenclean.models.class_order` of the tags.
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
    for s, (words, sentence) in enumerate(zip(tokens, tags)):
        if len(words) != len(sentence):
            raise ValueError(f"sentence {s}: {len(words)} tokens but {len(sentence)} tags")
        ids = []
        for t, tag in enumerate(sentence):
            if tag not in column:
                raise ValueError(f"sentence {s}, token {t}: tag {tag!r} is not in class_names")
            ids.append(column[tag])
        labels.append(ids)
    probs = [float_probs(np.asarray(p)) for p in pred_probs]
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

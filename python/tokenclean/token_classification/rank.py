"""Label quality scores of tokens and sentences: mirrors
``cleanlab.token_classification.rank``.

Token scores are cleanlab 2.9.0's, bit for bit and with its dtype; sentence scores aggregate
them per sentence (``"min"``, or ``"softmin"``, a softmax-weighted average that approaches the
minimum as the temperature goes to 0). Both are computed by the Rust engine over the flattened
tokens. The per-token scores come back as pandas Series, so
:func:`get_label_quality_scores` needs pandas (``pip install 'tokenclean[pandas]'``);
:func:`issues_from_scores` does not.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenclean import _core
from tokenclean._options import RANKINGS, one_of
from tokenclean._pandas import is_series, require_pandas
from tokenclean.errors import InvalidOptionError

__all__ = ["get_label_quality_scores", "issues_from_scores"]

SENTENCE_METHODS = ("min", "softmin")
#: cleanlab's floor of the softmin temperature (only 0 itself means "min").
_MIN_TEMPERATURE = 1e-6

Issues = list[tuple[int, int]] | npt.NDArray[np.intp]


def _temperature(sentence_score_kwargs: object) -> Any:
    if sentence_score_kwargs is None:
        return 0.05
    if not isinstance(sentence_score_kwargs, dict):
        raise TypeError("sentence_score_kwargs must be a dict")
    extra = sorted(set(sentence_score_kwargs) - {"temperature"})
    if extra:
        raise TypeError(f"sentence_score_kwargs got an unexpected keyword argument {extra[0]!r}")
    return _checked_temperature(sentence_score_kwargs.get("temperature", 0.05))


def _checked_temperature(temperature: object) -> Any:
    if not isinstance(temperature, numbers.Real) or isinstance(temperature, (bool, np.bool_)):
        raise TypeError(f"temperature must be a number, not {type(temperature).__name__}")
    return temperature


def _sentence_scores(
    token_scores: np.ndarray, lengths: np.ndarray, method: str, temperature: Any
) -> np.ndarray:
    """Per-sentence scores in cleanlab's dtype (that of the token scores, or wider when a
    numpy float64 temperature makes numpy compute the softmin in float64)."""
    wide = token_scores.astype(np.float64)
    if method == "min" or temperature == 0:
        values = _core.sentence_scores(wide, lengths, "min")
        dtype = token_scores.dtype
    elif temperature == np.inf:
        values = _core.sentence_scores(wide, lengths, "softmin", float("inf"))
        dtype = token_scores.dtype
    else:
        effective = max(temperature, _MIN_TEMPERATURE)
        values = _core.sentence_scores(wide, lengths, "softmin", float(effective))
        dtype = np.result_type(token_scores.dtype, effective)
    return values.astype(dtype, copy=False)


def _softmin_sentence_score(
    token_scores: Sequence[Any], *, temperature: float = 0.05
) -> np.ndarray:
    """One softmin score per sentence from its token scores (cleanlab's private helper of the
    same name, for code and tests that call it).

    The score of a sentence with token scores ``s`` is ``sum(w * s) / sum(w)`` with weights
    ``w = exp((1 - s) / temperature)``: it tends to the minimum as the temperature goes to 0
    and to the mean as it grows.

    Parameters
    ----------
    token_scores
        The scores of each sentence's tokens (lists, arrays or pandas Series).
    temperature
        0 gives the minimum and ``inf`` the mean; positive values below ``1e-6``, and negative
        ones, act as ``1e-6``.

    Returns
    -------
    numpy.ndarray
        One score per sentence, in the dtype numpy promotes the sentences' scores to (float32
        stays float32). A sentence without tokens, or with a NaN score, scores NaN.

    Examples
    --------
    >>> from tokenclean.token_classification.rank import _softmin_sentence_score
    >>> scores = [[0.9, 0.6], [0.2, 0.8, 0.8], [0.7]]
    >>> _softmin_sentence_score(scores).round(6)
    array([0.600742, 0.200007, 0.7     ])
    >>> _softmin_sentence_score(scores, temperature=0)
    array([0.6, 0.2, 0.7])
    >>> _softmin_sentence_score(scores, temperature=float("inf"))
    array([0.75, 0.6 , 0.7 ])
    """
    temperature = _checked_temperature(temperature)
    if isinstance(token_scores, (str, bytes)) or not hasattr(token_scores, "__len__"):
        raise TypeError(
            f"token_scores must be a list of sentences, not {type(token_scores).__name__}"
        )
    sentences = []
    for s, scores in enumerate(token_scores):
        values = np.asarray(scores)
        if values.ndim != 1:
            raise ValueError(f"token_scores[{s}] has shape {values.shape}; it must be 1-D")
        if values.size and values.dtype.kind not in "fiub":
            raise TypeError(f"token_scores[{s}] have dtype {values.dtype}; scores must be numbers")
        sentences.append(values)
    lengths = np.array([values.size for values in sentences], dtype=np.int64)
    present = [values for values in sentences if values.size]
    dtype = np.result_type(*present) if present else np.dtype(np.float64)
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    flat = np.concatenate(present).astype(dtype) if present else np.zeros(0, dtype)
    result = _sentence_scores(flat, lengths, "softmin", temperature)
    missing = np.isnan(flat)
    if missing.any():
        # the engine skips NaN; numpy (and so cleanlab) lets it through to the score
        owner = np.repeat(np.arange(lengths.size), lengths)
        result[owner[missing]] = np.nan
    return result


def get_label_quality_scores(
    labels: Sequence[Any],
    pred_probs: Sequence[Any],
    *,
    tokens: Sequence[Sequence[str]] | None = None,
    token_score_method: str = "self_confidence",
    sentence_score_method: str = "min",
    sentence_score_kwargs: dict[str, Any] = {},  # noqa: B006 (never mutated; cleanlab's default)
) -> tuple[np.ndarray, list[Any]]:
    """Label quality scores of every sentence and of every token.

    Scores lie in [0, 1]; low scores mark tokens whose label is likely wrong and sentences
    likely to contain such a token.

    Parameters
    ----------
    labels
        One sequence of integer class ids per sentence.
    pred_probs
        One ``(tokens, K)`` float32 or float64 array of predicted probabilities per sentence.
    tokens
        Optional words of each sentence, used as the index of each sentence's Series.
    token_score_method
        ``"self_confidence"`` (default), ``"normalized_margin"`` or
        ``"confidence_weighted_entropy"`` (see :func:`tokenclean.rank.get_label_quality_scores`).
    sentence_score_method
        ``"min"``: the lowest token score of the sentence. ``"softmin"``: the token scores
        averaged with weights ``softmax((1 - score) / temperature)``, which tends to the
        minimum as the temperature goes to 0 and to the mean as it goes to infinity.
    sentence_score_kwargs
        ``{"temperature": t}`` for ``"softmin"`` (default 0.05; 0 gives the minimum, ``inf``
        the mean, and positive values below ``1e-6`` act as ``1e-6``).

    Returns
    -------
    sentence_scores : numpy.ndarray
        One score per sentence, in the token scores' dtype. An empty sentence scores NaN.
    token_info : list of pandas.Series
        The scores of each sentence's tokens, indexed by ``tokens[i]`` when given.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.token_classification.rank import get_label_quality_scores
    >>> labels = [[0, 0, 1], [1, 0]]
    >>> pred_probs = [
    ...     np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]),
    ...     np.array([[0.4, 0.6], [0.25, 0.75]]),
    ... ]
    >>> sentence_scores, token_info = get_label_quality_scores(labels, pred_probs)
    >>> sentence_scores
    array([0.7 , 0.25])
    >>> token_info[1]
    0    0.60
    1    0.25
    dtype: float64
    >>> sentence_scores, _ = get_label_quality_scores(
    ...     labels, pred_probs, sentence_score_method="softmin",
    ...     sentence_score_kwargs={"temperature": float("inf")})
    >>> sentence_scores
    array([0.8  , 0.425])
    >>> _, token_info = get_label_quality_scores(
    ...     labels, pred_probs, tokens=[["New", "York", "rocks"], ["hi", "there"]])
    >>> token_info[0]
    New      0.9
    York     0.7
    rocks    0.8
    dtype: float64
    """
    pd = require_pandas("tokenclean.token_classification.rank.get_label_quality_scores")
    if not isinstance(sentence_score_method, str) or sentence_score_method not in SENTENCE_METHODS:
        # cleanlab asserts here; the phrase is the one its callers (and tests) look for.
        raise InvalidOptionError(
            f"sentence_score_method={sentence_score_method!r} is not supported. "
            f"Select from the following methods: {', '.join(SENTENCE_METHODS)}"
        )
    one_of("token_score_method", token_score_method, RANKINGS)
    temperature = _temperature(sentence_score_kwargs)
    # The engine reads the sentences as find_label_issues does; its errors name the sentence
    # and token.
    token_scores, lengths = _core.label_quality_scores_ragged(
        labels, pred_probs, token_score_method
    )
    if tokens is not None and len(tokens) > 0 and len(tokens) != len(lengths):
        raise ValueError(
            f"tokens has {len(tokens)} sentences but labels has {len(lengths)}; they must match"
        )
    sentence_scores = _sentence_scores(token_scores, lengths, sentence_score_method, temperature)

    pieces = np.split(token_scores, np.cumsum(lengths)[:-1])
    if tokens is not None and len(tokens) > 0:
        token_info = []
        for s, (piece, words) in enumerate(zip(pieces, tokens, strict=False)):
            if len(words) != len(piece):
                raise ValueError(
                    f"tokens[{s}] has {len(words)} words but sentence {s} has {len(piece)} labels"
                )
            token_info.append(pd.Series(piece, index=words))
    else:
        token_info = [pd.Series(piece) for piece in pieces]
    return sentence_scores, token_info


def _scores_of_sentence(scores: object, s: int) -> np.ndarray:
    """One sentence's token scores as numpy compares them with the threshold: a Series yields
    Python numbers (float64), arrays and lists keep numpy's dtype."""
    if is_series(scores):
        values: np.ndarray = scores.to_numpy()  # type: ignore[attr-defined]
        if values.dtype.kind == "f":
            values = values.astype(np.float64)
    else:
        values = np.asarray(scores)
    if values.ndim != 1:
        raise ValueError(f"token_scores[{s}] has shape {values.shape}; it must be 1-D")
    return values


def issues_from_scores(
    sentence_scores: npt.ArrayLike,
    *,
    token_scores: Sequence[Any] | None = None,
    threshold: float = 0.1,
) -> Issues:
    """Turn scores into a ranked list of issues: everything scoring below ``threshold``.

    Parameters
    ----------
    sentence_scores
        ``(num_sentences,)`` sentence scores (as from :func:`get_label_quality_scores`).
    token_scores
        Optional per-sentence token scores (a list of Series, arrays or lists). When given,
        issues are tokens and ``sentence_scores`` is not used.
    threshold
        Scores strictly below it are issues.

    Returns
    -------
    list of (int, int) or numpy.ndarray
        With ``token_scores``: ``(sentence, token)`` tuples by ascending token score (ties in
        position order). Without: the indices of the sentences below ``threshold`` by
        ascending score, an integer array (empty when none; all of them when every sentence
        is below the threshold).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.token_classification.rank import issues_from_scores
    >>> sentence_scores = np.array([0.3, 0.05, 0.9, 0.08])
    >>> issues_from_scores(sentence_scores)
    array([1, 3])
    >>> issues_from_scores(sentence_scores, threshold=0.01)
    array([], dtype=int64)
    >>> token_scores = [[0.3, 0.9], [0.05, 0.9], [0.9], [0.08, 0.02, 0.6]]
    >>> issues_from_scores(sentence_scores, token_scores=token_scores)
    [(3, 1), (1, 0), (3, 0)]
    """
    if token_scores is not None and len(token_scores) > 0:
        sentences: list[np.ndarray] = []
        positions: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for s, scores in enumerate(token_scores):
            row = _scores_of_sentence(scores, s)
            below = np.flatnonzero(row < threshold)
            if below.size:
                sentences.append(np.full(below.size, s, dtype=np.intp))
                positions.append(below)
                values.append(row[below].astype(np.float64))
        if not values:
            return []
        order = np.argsort(np.concatenate(values), kind="stable")
        pairs = zip(
            np.concatenate(sentences)[order].tolist(),
            np.concatenate(positions)[order].tolist(),
            strict=False,
        )
        return list(pairs)

    scores = np.asarray(sentence_scores)
    ranking: npt.NDArray[np.intp] = np.argsort(scores, kind="stable")
    is_issue = scores[ranking] < threshold  # ascending, NaN last: the issues form a prefix
    cutoff = int(is_issue.size if is_issue.all() else np.argmin(is_issue))
    return ranking[:cutoff]

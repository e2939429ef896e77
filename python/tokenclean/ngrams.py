"""Variation n-grams: which tags disagree with how the same words are tagged elsewhere.

Dickinson & Meurers (2003) observed that when the same stretch of words occurs several times
in a corpus and a word inside it is tagged differently across the occurrences, one of those
tags is usually an annotation error, the more so the longer the shared context. This needs no
model: only which tokens are the same word.

For every n-gram of words (``n = 1 .. max_n``, inside one sentence) seen at least ``min_count``
times, and every position in it, tokenclean counts the tags at that position over the
occurrences. A token at a position whose tags vary gets the candidate score::

    score = (occurrences - agreeing) / occurrences * n / max_n

where ``agreeing`` counts the occurrences tagged like the token (itself included): the share of
the n-gram's occurrences that tag it otherwise, weighted by how much context the n-gram
holds. The start and the end of a sentence count as words (markers, never scored themselves),
so "Leeds" opening a sentence shares context with other sentences opened by "Leeds". Each token
keeps its best candidate (highest score, then the longest n-gram, then the
most occurrences, then the leftmost) and reports it. Scores lie in ``[0, 1]``; higher is more
suspect; 0 means no n-gram varies at the token.

Why this score: a tag that most occurrences of the same words contradict is likely wrong,
and a unigram ("Germany" tagged B-LOC and B-ORG) is ambiguous far more often than a
six-word context is. On CoNLL-2003 (n-grams over train+test, judged on the even-indexed test
sentences), weighting by ``n / max_n`` ranked better than the bare share of disagreeing
occurrences, than ordering by length first and than smoothed shares; the sentence markers
raised the average precision of the n-grams alone from 0.105 to 0.148 (lower-cased words;
0.163 with exact case, the default), and ``(1 - p[given]) * (1 + score)`` with a model's
probabilities beat the model alone (``benches/quality_conll.py``).

The work is done by the Rust engine in time near-linear in the number of tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tokenclean import _core

__all__ = ["VariationEvidence", "variation_ngrams", "word_ids"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Words = npt.ArrayLike | Sequence[Sequence[str]] | Sequence[Sequence[int]]


@dataclass(frozen=True)
class VariationEvidence:
    """Per-token variation n-gram evidence; every array has one entry per token, sentences
    concatenated in order.

    Attributes:
        score: in ``[0, 1]``, higher is more suspect (see the module documentation).
        suggested: the most frequent tag at the token's position in its best n-gram (ties go
            to the token's own tag, then to the smallest class id); the given tag when there is
            no evidence.
        support: occurrences of the best n-gram (0 when there is no evidence).
        agree: of those, how many tag the position as this token is tagged (itself included).
        length: the number of words n of the best n-gram (0 when there is no evidence).
        offset: the token's position inside that n-gram (0-based).
    """

    score: FloatArray
    suggested: IntArray
    support: IntArray
    agree: IntArray
    length: IntArray
    offset: IntArray

    def ranked(self) -> IntArray:
        """Flat indices of the tokens with evidence, most suspect first (ties by position)."""
        candidates = np.flatnonzero(self.score > 0)
        order = np.argsort(-self.score[candidates], kind="stable")
        ranked: IntArray = candidates[order].astype(np.int64)
        return ranked


def word_ids(
    tokens: Sequence[Sequence[str]], *, lowercase: bool = False
) -> tuple[IntArray, IntArray]:
    """Integer ids of words (equal ids: the same word) and the sentence lengths.

    >>> ids, lengths = word_ids([["The", "cat"], ["the", "dog"]], lowercase=True)
    >>> ids.tolist(), lengths.tolist()
    ([2, 0, 2, 1], [2, 2])
    """
    lengths = np.fromiter((len(s) for s in tokens), dtype=np.int64, count=len(tokens))
    flat = [w for sentence in tokens for w in sentence]
    for s, sentence in enumerate(tokens):
        for t, w in enumerate(sentence):
            if not isinstance(w, str):
                raise TypeError(f"tokens[{s}][{t}] is {type(w).__name__}; tokens must be strings")
    if not flat:
        return np.zeros(0, dtype=np.int64), lengths
    words = np.array(flat, dtype=str)
    if lowercase:
        words = np.char.lower(words)
    _, inverse = np.unique(words, return_inverse=True)
    ids: IntArray = inverse.reshape(-1).astype(np.int64)
    return ids, lengths


def variation_ngrams(
    words: Words,
    labels: npt.ArrayLike | Sequence[Sequence[int]],
    lengths: npt.ArrayLike | None = None,
    *,
    max_n: int = 6,
    min_count: int = 2,
    boundaries: bool = True,
    lowercase: bool = False,
) -> VariationEvidence:
    """Variation n-gram evidence for every token (see the module documentation).

    Args:
        words: with ``lengths``, one integer word id per token, sentences concatenated (equal
            ids mean the same word). Without ``lengths``, one sequence per sentence of either
            words (strings, compared exactly unless ``lowercase=True``) or word ids.
        labels: the given class id of each token, laid out like ``words``.
        lengths: tokens per sentence, when ``words`` and ``labels`` are flat.
        max_n: the longest n-gram considered.
        min_count: the fewest occurrences an n-gram needs to count (at least 2 either way).
        boundaries: whether the start and the end of a sentence count as context words.
        lowercase: whether string words are compared lower-cased (on CoNLL-2003 exact case
            ranked slightly better, as case tells names apart).

    Returns:
        A :class:`VariationEvidence` with one entry per token.

    The second "New York" is tagged as an organisation, while the other two occurrences of
    the same two words are tagged as a location:

    >>> tokens = [["in", "New", "York"], ["in", "New", "York"], ["in", "New", "York"]]
    >>> labels = [[0, 1, 2], [0, 3, 4], [0, 1, 2]]
    >>> ev = variation_ngrams(tokens, labels, max_n=3)
    >>> ev.score.round(3).tolist()
    [0.0, 0.333, 0.333, 0.0, 0.667, 0.667, 0.0, 0.333, 0.333]
    >>> ev.suggested[3:6].tolist(), int(ev.support[4]), int(ev.agree[4]), int(ev.length[4])
    ([0, 1, 2], 3, 1, 3)
    >>> ev.ranked()[:2].tolist()
    [4, 5]
    """
    if isinstance(max_n, bool) or not isinstance(max_n, (int, np.integer)) or max_n < 1:
        raise ValueError(f"max_n={max_n!r}; it must be an integer of at least 1")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 0:
        raise ValueError(f"min_count={min_count!r}; it must be a non-negative integer")
    if lengths is None:
        ids, lens = _sentence_words(words, lowercase)
        flat_labels = _sentence_labels(labels, lens)
    else:
        ids = _int_array(words, "words")
        lens = _int_array(lengths, "lengths")
        flat_labels = _int_array(labels, "labels")
    score, suggested, support, agree, length, offset = _core.variation_ngrams(
        ids, flat_labels, lens, int(max_n), int(min_count), bool(boundaries)
    )
    return VariationEvidence(score, suggested, support, agree, length, offset)


def _int_array(values: Any, what: str) -> IntArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} has shape {arr.shape}; it must be 1-D")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what} has dtype {arr.dtype}; it must hold integers")
    if arr.dtype == np.uint64:
        arr = arr.view(np.int64)  # ids only need to compare equal: reinterpret, no copy
    return np.ascontiguousarray(arr, dtype=np.int64)


def _sentence_words(words: Any, lowercase: bool) -> tuple[IntArray, IntArray]:
    sentences = list(words)
    first = next((s[0] for s in sentences if len(s)), None)
    if isinstance(first, str):
        return word_ids(sentences, lowercase=lowercase)
    lens = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    parts = [_int_array(s, f"words[{i}]") for i, s in enumerate(sentences)]
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return flat, lens


def _sentence_labels(labels: Any, lens: IntArray) -> IntArray:
    sentences = list(labels)
    if len(sentences) != len(lens):
        raise ValueError(f"labels has {len(sentences)} sentences but words has {len(lens)}")
    parts = []
    for s, (sentence, n) in enumerate(zip(sentences, lens.tolist(), strict=False)):
        arr = _int_array(sentence, f"labels[{s}]")
        if len(arr) != n:
            raise ValueError(f"labels[{s}] has {len(arr)} tags but words[{s}] has {n} words")
        parts.append(arr)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

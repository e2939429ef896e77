"""Hypothesis strategies and invariant checks for property-based tests of pipelines that use
tokenclean.

Install with ``pip install 'tokenclean[testing]'`` (it adds hypothesis). This module imports
without hypothesis; the strategies raise an ``ImportError`` naming the extra when it is missing.
The ``assert_*`` checks need only tokenclean.

Strategies (each returns a hypothesis ``SearchStrategy``):

- :func:`token_datasets`: ``(labels, pred_probs)`` as ``find_label_issues`` takes them: one
  list of class ids per sentence and one ``(tokens, K)`` float32 or float64 array per sentence.
  The probabilities look like a trained model's: most rows are confident and agree with the
  label, some are unsure between two classes, and a few tokens carry a wrong label that the
  model contradicts (the label errors a pipeline should find). Some sentences are empty.
- :func:`iob_datasets`: the same for named-entity data, with class names and label sequences
  that are valid IOB2 before the wrong labels are added.
- :func:`class_names`, :func:`iob_class_names`: distinct class names; ``O`` plus ``B-``/``I-``
  names per entity type.
- :func:`iob_tags`: tag sequences, valid IOB2 by construction, or (``malformed=True``) each with
  at least one ``I-`` tag that does not continue an entity.

Invariants a pipeline can assert on any valid data:

- :func:`assert_thread_count_independent`: the answer does not depend on ``n_jobs``;
- :func:`assert_flat_matches_ragged`: list input and flat input give the same issues;
- :func:`assert_sentence_permutation_equivariant`: shuffling the sentences shuffles the issues
  with them;
- :func:`assert_issues_well_formed`: issues are distinct, in range and ranked by score, equal
  scores in position order.

Example, a test to paste into a pytest suite::

    from hypothesis import given, settings
    from tokenclean.testing import assert_thread_count_independent, token_datasets

    @settings(max_examples=50, deadline=None)
    @given(token_datasets(max_classes=9))
    def test_my_cleaning_step(data):
        labels, pred_probs = data
        issues = assert_thread_count_independent(labels, pred_probs)
        kept = [[tag for t, tag in enumerate(sentence) if (s, t) not in set(issues)]
                for s, sentence in enumerate(labels)]
        assert sum(map(len, kept)) == sum(map(len, labels)) - len(issues)

Examples
--------
>>> from tokenclean.testing import is_valid_iob2
>>> is_valid_iob2(["B-PER", "I-PER", "O", "B-LOC"])
True
>>> is_valid_iob2(["O", "I-PER"])
False
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tokenclean.token_classification.filter import find_label_issues, find_label_issues_flat

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "assert_flat_matches_ragged",
    "assert_issues_well_formed",
    "assert_sentence_permutation_equivariant",
    "assert_thread_count_independent",
    "class_names",
    "iob_class_names",
    "iob_datasets",
    "iob_tags",
    "is_valid_iob2",
    "token_datasets",
]

Labels = list[Any]
PredProbs = list[np.ndarray]
Issues = list[tuple[int, int]]
_ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC", "DATE", "TIME", "MONEY", "PRODUCT", "EVENT", "GPE")
_DTYPES = ("float32", "float64")


def _strategies() -> Any:
    try:
        from hypothesis import strategies
    except ImportError:
        raise ImportError(
            "tokenclean.testing's strategies need hypothesis: pip install 'tokenclean[testing]'"
        ) from None
    return strategies


# ---------------------------------------------------------------------------
# class names and IOB tags
# ---------------------------------------------------------------------------


def class_names(*, min_classes: int = 2, max_classes: int = 12) -> SearchStrategy[list[str]]:
    """Distinct, non-empty class names (POS-tag-like: letters, digits and ``-_.$``)."""
    st = _strategies()
    name = st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.$",
        min_size=1,
        max_size=8,
    )
    names: SearchStrategy[list[str]] = st.lists(
        name, min_size=min_classes, max_size=max_classes, unique=True
    )
    return names


def _entity_types(st: Any, min_types: int, max_types: int) -> SearchStrategy[list[str]]:
    made_up = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=6)
    types: SearchStrategy[list[str]] = st.lists(
        st.one_of(st.sampled_from(_ENTITY_TYPES), made_up),
        min_size=min_types,
        max_size=max_types,
        unique=True,
    )
    return types


def _iob_names(types: Sequence[str]) -> list[str]:
    return ["O", *(f"{prefix}-{t}" for t in types for prefix in ("B", "I"))]


def iob_class_names(*, min_types: int = 1, max_types: int = 4) -> SearchStrategy[list[str]]:
    """``["O", "B-T1", "I-T1", "B-T2", "I-T2", ...]`` for 1 to 4 distinct entity types."""
    st = _strategies()
    names: SearchStrategy[list[str]] = _entity_types(st, min_types, max_types).map(_iob_names)
    return names


def _types_of(names: Sequence[str]) -> list[str]:
    types = [name[2:] for name in names if name.startswith("B-")]
    if not types:
        raise ValueError(f"no B- class among {list(names)!r}: not an IOB scheme")
    return types


def _valid_sequence(codes: Sequence[int], types: Sequence[str]) -> list[str]:
    """Codes 0 (O), 1..T (B-type), T+1..2T (I-type) as IOB2 tags; an I- tag that would not
    continue an entity of its type becomes a B- tag."""
    n = len(types)
    tags: list[str] = []
    for code in codes:
        if code == 0:
            tags.append("O")
            continue
        kind = types[(code - 1) % n]
        continues = bool(tags) and tags[-1] != "O" and tags[-1][2:] == kind
        tags.append(f"I-{kind}" if code > n and continues else f"B-{kind}")
    return tags


def iob_tags(
    names: Sequence[str], *, min_len: int = 0, max_len: int = 20, malformed: bool = False
) -> SearchStrategy[list[str]]:
    """Tag sequences over the IOB class ``names`` (as from :func:`iob_class_names`).

    Valid IOB2 by construction: every ``I-X`` follows ``B-X`` or ``I-X``. With
    ``malformed=True`` every sequence (of at least one tag) has an ``I-X`` at the start or
    after ``O``, the mistake IOB checkers must catch.
    """
    st = _strategies()
    types = _types_of(names)
    if malformed:
        min_len = max(min_len, 1)
    codes = st.lists(st.integers(0, 2 * len(types)), min_size=min_len, max_size=max_len)
    valid: SearchStrategy[list[str]] = codes.map(lambda c: _valid_sequence(c, types))
    if not malformed:
        return valid

    @st.composite  # type: ignore[untyped-decorator]
    def broken(draw: Any) -> list[str]:
        tags: list[str] = draw(valid)
        i = draw(st.integers(0, len(tags) - 1))
        tags[i] = f"I-{draw(st.sampled_from(types))}"
        if i > 0:
            tags[i - 1] = "O"
        return tags

    result: SearchStrategy[list[str]] = broken()
    return result


def is_valid_iob2(tags: Sequence[str]) -> bool:
    """Whether every ``I-X`` continues an entity of type ``X`` (``O`` and ``B-X`` always may).

    Examples
    --------
    >>> is_valid_iob2(["B-ORG", "I-ORG", "I-ORG"]), is_valid_iob2(["B-ORG", "I-PER"])
    (True, False)
    """
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


# ---------------------------------------------------------------------------
# labels and probabilities
# ---------------------------------------------------------------------------


def _peaked(
    rng: np.random.Generator, true: np.ndarray, k: int, flip_rate: float, unsure_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """(given labels, probabilities) for tokens of class ``true``: confident rows on the true
    class, some rows split between it and another class, and a share of labels replaced by
    another class (the model still favours the true one)."""
    n = true.shape[0]
    rows = np.arange(n)
    logits = rng.normal(0.0, 1.0, size=(n, k))
    logits[rows, true] += rng.uniform(3.0, 9.0, size=n)
    unsure = np.less(rng.random(n), unsure_rate)
    rival = (true + rng.integers(1, k, size=n)) % k
    logits[rows[unsure], rival[unsure]] = logits[rows[unsure], true[unsure]] + rng.normal(
        0.0, 0.7, size=int(unsure.sum())
    )
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    given = true.copy()
    flipped = rng.random(n) < flip_rate
    given[flipped] = rival[flipped]
    return given, probs


def _ensure_two_classes(given: np.ndarray, k: int) -> None:
    """find_label_issues needs two classes among the labels (there are at least 2 tokens)."""
    if np.unique(given).size < 2:
        given[-1] = (given[0] + 1) % k


def _split(
    given: np.ndarray,
    probs: np.ndarray,
    lengths: Sequence[int],
    dtypes: Sequence[str],
    labels_as: str,
) -> tuple[Labels, PredProbs]:
    labels: Labels = []
    pred_probs: PredProbs = []
    start = 0
    for length, dtype in zip(lengths, dtypes, strict=False):
        stop = start + length
        ids = given[start:stop]
        labels.append(ids.copy() if labels_as == "array" else ids.tolist())
        pred_probs.append(np.ascontiguousarray(probs[start:stop], dtype=dtype))
        start = stop
    return labels, pred_probs


def _lengths(
    st: Any, min_sentences: int, max_sentences: int, min_tokens: int, max_tokens: int
) -> Any:
    lengths = st.lists(
        st.integers(min_tokens, max_tokens), min_size=min_sentences, max_size=max_sentences
    )
    # at least two tokens, so that two classes can be present
    return lengths.map(lambda ls: ls if sum(ls) >= 2 else [*ls, 2])


def _dtype_choice(st: Any, dtype: str | None, labels_as: str) -> Any:
    """The strategy of the dataset's dtype, once the options are checked."""
    if labels_as not in ("list", "array"):
        raise ValueError(f"labels_as={labels_as!r}; use 'list' or 'array'")
    if dtype is None:
        return st.sampled_from(_DTYPES)
    if dtype not in (*_DTYPES, "mixed"):
        raise ValueError(f"dtype={dtype!r}; use 'float32', 'float64', 'mixed' or None (either)")
    return st.just(dtype)


def _sentence_dtypes(rng: np.random.Generator, dtype: str, count: int) -> list[str]:
    if dtype == "mixed":
        return [str(d) for d in rng.choice(_DTYPES, size=count)]
    return [dtype] * count


def token_datasets(
    *,
    num_classes: int | None = None,
    max_classes: int = 12,
    min_sentences: int = 1,
    max_sentences: int = 30,
    min_tokens: int = 0,
    max_tokens: int = 20,
    dtype: str | None = None,
    flip_rate: float = 0.05,
    unsure_rate: float = 0.1,
    labels_as: str = "list",
) -> SearchStrategy[tuple[Labels, PredProbs]]:
    """``(labels, pred_probs)`` for ``find_label_issues``, with model-like probabilities.

    Parameters
    ----------
    num_classes
        K; drawn from 2 to ``max_classes`` when not given. The class frequencies are skewed
        (one class often dominates, as ``O`` does in NER); some classes may be absent.
    min_sentences, max_sentences, min_tokens, max_tokens
        Number of sentences, and of tokens per sentence (empty sentences occur unless
        ``min_tokens`` > 0). There are always at least two tokens and two classes among the
        labels.
    dtype
        ``"float32"`` or ``"float64"`` for every sentence, ``"mixed"`` (each sentence one or the
        other) or None (either, drawn per dataset).
    flip_rate
        Share of tokens whose label is replaced by another class that the model does not
        predict: the label errors.
    unsure_rate
        Share of tokens whose probability is split between the true class and another.
    labels_as
        ``"list"`` (lists of Python ints, as cleanlab documents) or ``"array"`` (int64 arrays).

    The shape (sentences, lengths, K) is drawn by hypothesis and shrinks; the values come from
    a numpy generator seeded by a drawn integer.
    """
    st = _strategies()
    if num_classes is not None and num_classes < 2:
        raise ValueError(f"num_classes={num_classes}; it must be at least 2")
    kinds = _dtype_choice(st, dtype, labels_as)

    @st.composite  # type: ignore[untyped-decorator]
    def build(draw: Any) -> tuple[Labels, PredProbs]:
        k = num_classes if num_classes is not None else draw(st.integers(2, max(2, max_classes)))
        lengths = draw(_lengths(st, min_sentences, max_sentences, min_tokens, max_tokens))
        kind = draw(kinds)
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        prior = rng.dirichlet(np.full(k, 0.8))
        if rng.random() < 0.5:
            prior[rng.integers(k)] += 2.0  # a dominant class, like O
        true = rng.choice(k, size=sum(lengths), p=prior / prior.sum())
        given, probs = _peaked(rng, true, k, flip_rate, unsure_rate)
        _ensure_two_classes(given, k)
        dtypes = _sentence_dtypes(rng, kind, len(lengths))
        return _split(given, probs, lengths, dtypes, labels_as)

    result: SearchStrategy[tuple[Labels, PredProbs]] = build()
    return result


def iob_datasets(
    *,
    min_types: int = 1,
    max_types: int = 4,
    min_sentences: int = 1,
    max_sentences: int = 30,
    min_tokens: int = 0,
    max_tokens: int = 20,
    dtype: str | None = None,
    flip_rate: float = 0.05,
    unsure_rate: float = 0.1,
    labels_as: str = "list",
) -> SearchStrategy[tuple[list[str], Labels, PredProbs]]:
    """``(class_names, labels, pred_probs)`` for named-entity data.

    ``class_names`` as from :func:`iob_class_names`; the true tags of each sentence are valid
    IOB2 (from :func:`iob_tags`), the probabilities favour them as in :func:`token_datasets`,
    and ``labels`` are the true class ids with a share ``flip_rate`` replaced by another class
    (so a labelled sentence may break IOB2 where its label is wrong, as real annotation errors
    do). Other parameters as in :func:`token_datasets`.
    """
    st = _strategies()
    kinds = _dtype_choice(st, dtype, labels_as)

    @st.composite  # type: ignore[untyped-decorator]
    def build(draw: Any) -> tuple[list[str], Labels, PredProbs]:
        names = draw(iob_class_names(min_types=min_types, max_types=max_types))
        index = {name: i for i, name in enumerate(names)}
        sentence = iob_tags(names, min_len=min_tokens, max_len=max_tokens)
        tags = draw(st.lists(sentence, min_size=min_sentences, max_size=max_sentences))
        if sum(map(len, tags)) < 2:
            tags.append(["B-" + names[1][2:], "O"])
        kind = draw(kinds)
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        true = np.array([index[tag] for s in tags for tag in s], dtype=np.int64)
        given, probs = _peaked(rng, true, len(names), flip_rate, unsure_rate)
        _ensure_two_classes(given, len(names))
        lengths = [len(s) for s in tags]
        dtypes = _sentence_dtypes(rng, kind, len(lengths))
        labels, pred_probs = _split(given, probs, lengths, dtypes, labels_as)
        return names, labels, pred_probs

    result: SearchStrategy[tuple[list[str], Labels, PredProbs]] = build()
    return result


# ---------------------------------------------------------------------------
# invariants
# ---------------------------------------------------------------------------


def _flatten(
    labels: Sequence[Any], pred_probs: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Flat labels, flat probabilities (the sentences' promoted dtype) and sentence lengths."""
    lengths = [len(sentence) for sentence in labels]
    flat_labels = np.concatenate([np.asarray(s, dtype=np.int64).reshape(-1) for s in labels])
    rows = [np.asarray(p) for p, n in zip(pred_probs, lengths, strict=False) if n]
    flat_probs = np.concatenate(rows).astype(np.result_type(*rows), copy=False)
    return flat_labels, flat_probs, lengths


def assert_thread_count_independent(
    labels: Sequence[Any],
    pred_probs: Sequence[Any],
    *,
    n_jobs: Sequence[int | None] = (None, 1, 2, 4),
    **kwargs: Any,
) -> Issues:
    """Assert that ``find_label_issues`` gives one answer whatever ``n_jobs`` is; return it.

    Data below 65,536 tokens are processed on one thread whatever ``n_jobs`` says; repeat the
    sentences (``labels * 20``) to make the threads work.
    """
    results = [find_label_issues(labels, pred_probs, n_jobs=jobs, **kwargs) for jobs in n_jobs]
    for jobs, issues in zip(n_jobs[1:], results[1:], strict=False):
        assert issues == results[0], f"n_jobs={jobs} changed the issues (vs n_jobs={n_jobs[0]})"
    return results[0]


def assert_flat_matches_ragged(
    labels: Sequence[Any], pred_probs: Sequence[Any], **kwargs: Any
) -> Issues:
    """Assert that ``find_label_issues_flat`` on the concatenated data gives the same issues
    as ``find_label_issues`` on the sentences; return them."""
    issues = find_label_issues(labels, pred_probs, **kwargs)
    flat_labels, flat_probs, lengths = _flatten(labels, pred_probs)
    flat = find_label_issues_flat(flat_labels, flat_probs, lengths, **kwargs)
    assert [tuple(pair) for pair in flat.tolist()] == issues, "flat and list input disagree"
    return issues


def assert_sentence_permutation_equivariant(
    labels: Sequence[Any],
    pred_probs: Sequence[Any],
    order: Sequence[int],
    **kwargs: Any,
) -> Issues:
    """Assert that the sentences in ``order`` (a permutation of their indices) have the same
    issues, mapped back to the original sentences; return the original issues.

    The issue sets must be equal, and the ranked lists must hold the same scores in the same
    order (issues with equal scores may swap: ties are broken by position). This holds
    exactly when the class means do not depend on the order of the tokens (their sums are
    rounded, so a probability within a rounding error of a threshold can flip) and no two
    tokens tie where a filter cuts. For model-like float64 probabilities, such as
    :func:`token_datasets` draws, that is almost always the case; float32 or rounded
    probabilities tie more often.
    """
    order = [int(i) for i in order]
    if sorted(order) != list(range(len(labels))):
        raise ValueError("order must be a permutation of the sentence indices")
    issues = find_label_issues(labels, pred_probs, **kwargs)
    moved = find_label_issues([labels[i] for i in order], [pred_probs[i] for i in order], **kwargs)
    back = [(order[s], t) for s, t in moved]
    assert sorted(back) == sorted(issues), "permuting the sentences changed the issue set"
    method = kwargs.get("return_indices_ranked_by", "self_confidence")
    if method is not None and not kwargs.get("low_memory", False):
        scores = _token_scores(labels, pred_probs, method, kwargs)
        assert [scores[i] for i in back] == [scores[i] for i in issues], (
            "permuting the sentences changed the ranking"
        )
    return issues


ScoreKey = tuple[int, int]


def _token_scores(
    labels: Sequence[Any], pred_probs: Sequence[Any], method: str, kwargs: dict[str, Any]
) -> dict[ScoreKey, float]:
    from tokenclean.rank import get_label_quality_scores

    adjust = bool((kwargs.get("rank_by_kwargs") or {}).get("adjust_pred_probs", False))
    flat_labels, flat_probs, lengths = _flatten(labels, pred_probs)
    values = get_label_quality_scores(
        flat_labels, flat_probs, method=method, adjust_pred_probs=adjust
    ).tolist()
    keys = [(s, t) for s, n in enumerate(lengths) for t in range(n)]
    return dict(zip(keys, values, strict=False))


def assert_issues_well_formed(
    issues: Sequence[tuple[int, int]] | np.ndarray,
    labels: Sequence[Any],
    pred_probs: Sequence[Any],
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    rank_by_kwargs: dict[str, Any] | None = None,
) -> None:
    """Assert that ``issues`` (from ``find_label_issues`` or ``find_label_issues_flat``) are
    distinct ``(sentence, token)`` pairs inside the data, ranked by ascending score of
    ``return_indices_ranked_by`` with equal scores in position order (position order
    throughout when it is None)."""
    listed = issues.tolist() if isinstance(issues, np.ndarray) else issues
    pairs = [(int(s), int(t)) for s, t in listed]
    assert len(set(pairs)) == len(pairs), "an issue is listed twice"
    for s, t in pairs:
        assert 0 <= s < len(labels) and 0 <= t < len(labels[s]), f"issue {(s, t)} is out of range"
    if return_indices_ranked_by is None:
        assert pairs == sorted(pairs), "issues are not in position order"
        return
    kwargs = {"rank_by_kwargs": rank_by_kwargs} if rank_by_kwargs else {}
    scores = _token_scores(labels, pred_probs, return_indices_ranked_by, kwargs)
    keys = [(scores[p], p) for p in pairs]
    assert keys == sorted(keys), "issues are not ranked by score, ties in position order"

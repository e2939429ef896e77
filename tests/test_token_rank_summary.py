"""``tokenclean.token_classification.rank`` and ``.summary`` against cleanlab 2.9.0.

Differential tests on generated token data (cleanlab made stable): token scores bit for bit
with cleanlab's dtype, sentence scores exact for ``min`` and within rounding for ``softmin``,
``issues_from_scores`` identical, and the printed reports of ``display_issues`` and
``common_label_issues`` identical character for character. Then small datasets with known
answers (the intent of cleanlab's own token-classification tests, written from scratch), the
deliberate differences, and the behaviour without pandas.
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import RANKINGS, ragged_datasets
from tokenclean.token_classification import rank, summary

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cl(cleanlab_stable: Any) -> SimpleNamespace:
    """cleanlab's token ``rank`` and ``summary`` modules, patched for stable sorting."""
    import cleanlab.token_classification.rank
    import cleanlab.token_classification.summary

    return SimpleNamespace(
        rank=cleanlab.token_classification.rank, summary=cleanlab.token_classification.summary
    )


def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any, str | None]:
    """(printed text, result, name of the exception raised or None), warnings silenced."""
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            return out.getvalue(), None, type(exc).__name__
    return out.getvalue(), result, None


def printed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    text, _, error = run(fn, *args, **kwargs)
    assert error is None, error
    return text


F32_EPS = float(np.finfo(np.float32).eps)


def assert_sentence_scores(
    ours: np.ndarray, theirs: np.ndarray, method: str, temperature: Any, token_dtype: Any
) -> None:
    """Exact for the minimum; within rounding for a softmin.

    cleanlab's softmin of float32 token scores rounds its steps in float32 (even ``1 - s``
    when a numpy float64 temperature makes the result float64); ours is computed in float64
    and rounded once. For float64 token scores the two agree to 1e-12, relative.
    """
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape
    if method == "min" or temperature == 0:
        np.testing.assert_array_equal(ours, theirs)
    elif token_dtype == np.float64:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        assert np.all(np.abs(ours - theirs) <= 64 * F32_EPS * np.maximum(1.0, np.abs(theirs)))


def assert_series_list_equal(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=False):
        pd.testing.assert_series_equal(a, b, check_exact=True)


# Temperatures: cleanlab's default, the two limits, ordinary values, values floored to 1e-6,
# and a numpy float64 scalar (numpy then computes a float32 softmin in float64).
TEMPERATURES: list[Any] = [None, 0, 0.0, math.inf, 0.01, 0.5, 5.0, 1e-9, -1.0, np.float64(0.2)]
SENTENCE_OPTIONS = st.one_of(
    st.just(("min", None)),
    st.tuples(st.just("softmin"), st.sampled_from(TEMPERATURES)),
)

# ---------------------------------------------------------------------------
# get_label_quality_scores: differential
# ---------------------------------------------------------------------------


@given(
    ragged_datasets(max_classes=12, max_sentences=15, max_len=10),
    st.sampled_from(RANKINGS),
    SENTENCE_OPTIONS,
    st.booleans(),
)
def test_quality_scores_match_cleanlab(
    cl: SimpleNamespace,
    data: Any,
    token_method: str,
    sentence: tuple[str, Any],
    with_tokens: bool,
) -> None:
    labels, pred_probs = data
    method, temperature = sentence
    kwargs: dict[str, Any] = {"token_score_method": token_method, "sentence_score_method": method}
    if temperature is not None:
        kwargs["sentence_score_kwargs"] = {"temperature": temperature}
    tokens = [[f"w{s}.{t}" for t in range(len(sent))] for s, sent in enumerate(labels)]
    if with_tokens:
        kwargs["tokens"] = tokens

    ours_sentences, ours_tokens = rank.get_label_quality_scores(labels, pred_probs, **kwargs)

    # cleanlab cannot score empty sentences: compare on the others, which it flattens (and
    # promotes) exactly as we do.
    kept = [s for s, sent in enumerate(labels) if len(sent) > 0]
    if with_tokens:
        kwargs["tokens"] = [tokens[s] for s in kept]
    theirs_sentences, theirs_tokens = run(
        cl.rank.get_label_quality_scores,
        [labels[s] for s in kept],
        [pred_probs[s] for s in kept],
        **kwargs,
    )[1]

    token_dtype = theirs_tokens[0].dtype
    assert_sentence_scores(ours_sentences[kept], theirs_sentences, method, temperature, token_dtype)
    assert_series_list_equal([ours_tokens[s] for s in kept], theirs_tokens)
    for s, sent in enumerate(labels):
        if len(sent) == 0:
            assert np.isnan(ours_sentences[s])
            assert ours_tokens[s].empty and ours_tokens[s].dtype == token_dtype


def test_float64_softmin_within_1e_12(cl: SimpleNamespace) -> None:
    """Long sentences, scores spread over [0, 1], several temperatures: relative 1e-12."""
    rng = np.random.default_rng(5)
    K = 9
    lengths = rng.integers(1, 80, 60)
    labels = [rng.integers(0, K, n).tolist() for n in lengths]
    pred_probs = [rng.dirichlet(np.full(K, 0.4), n) for n in lengths]
    for temperature in (0.001, 0.01, 0.05, 0.3, 2.0, 100.0, math.inf):
        kwargs = {
            "sentence_score_method": "softmin",
            "sentence_score_kwargs": {"temperature": temperature},
        }
        ours, _ = rank.get_label_quality_scores(labels, pred_probs, **kwargs)
        theirs, _ = cl.rank.get_label_quality_scores(labels, pred_probs, **kwargs)
        assert ours.dtype == theirs.dtype == np.float64
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_dtype_promotion_matches(cl: SimpleNamespace) -> None:
    labels = [[0, 1], [1], [2, 0, 1]]
    p = np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1], [0.2, 0.5, 0.3]])
    cases = {
        "all float32": [p[:2].astype(np.float32), p[1:2].astype(np.float32), p.astype(np.float32)],
        "one float64": [p[:2].astype(np.float32), p[1:2], p.astype(np.float32)],
        "lists": [p[:2].tolist(), p[1:2].tolist(), p.tolist()],
    }
    for name, pred_probs in cases.items():
        for method in RANKINGS:
            ours = rank.get_label_quality_scores(labels, pred_probs, token_score_method=method)
            theirs = cl.rank.get_label_quality_scores(labels, pred_probs, token_score_method=method)
            assert ours[0].dtype == theirs[0].dtype, (name, method)
            np.testing.assert_array_equal(ours[0], theirs[0])
            assert_series_list_equal(ours[1], theirs[1])
    # An empty float64 sentence does not widen float32 data (it contributes no row).
    with_empty = [p[:2].astype(np.float32), np.zeros((0, 3)), p.astype(np.float32)]
    sentences, tokens = rank.get_label_quality_scores([[0, 1], [], [2, 0, 1]], with_empty)
    assert sentences.dtype == np.float32 and tokens[1].dtype == np.float32
    np.testing.assert_array_equal(sentences[[0, 2]], [np.float32(0.6), np.float32(0.1)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_column_major_sentence_scores_as_cleanlab_flattens_it(
    cl: SimpleNamespace, dtype: Any
) -> None:
    """cleanlab scores its row-major concatenation whatever the sentences' layout: the entropy's
    row sums must not follow a lone Fortran-ordered sentence (they once did)."""
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(9), 40).astype(dtype)
    labels = [rng.integers(0, 9, 40).tolist()]
    method = "confidence_weighted_entropy"
    ours = rank.get_label_quality_scores(labels, [np.asfortranarray(p)], token_score_method=method)
    theirs = cl.rank.get_label_quality_scores(labels, [p], token_score_method=method)
    np.testing.assert_array_equal(ours[1][0].to_numpy(), theirs[1][0].to_numpy())
    assert ours[1][0].dtype == theirs[1][0].dtype


# ---------------------------------------------------------------------------
# issues_from_scores: differential
# ---------------------------------------------------------------------------

SCORE_VALUES = st.sampled_from([0.0, 0.02, 0.05, 0.1, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, np.nan])
THRESHOLDS = st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 1.5, np.float32(0.7)])


@given(
    st.lists(SCORE_VALUES, min_size=1, max_size=30),
    st.sampled_from(["f4", "f8", "list"]),
    THRESHOLDS,
)
def test_sentence_issues_match(
    cl: SimpleNamespace, values: list[float], kind: str, threshold: Any
) -> None:
    scores: Any = values if kind == "list" else np.array(values, dtype=kind)
    ours = rank.issues_from_scores(scores, threshold=threshold)
    _, theirs, error = run(cl.rank.issues_from_scores, scores, threshold=threshold)
    assert isinstance(ours, np.ndarray)
    if error is not None:
        # cleanlab reads past the end when every sentence is below the threshold; we return
        # all of them, ranked.
        assert error == "IndexError"
        np.testing.assert_array_equal(ours, np.argsort(np.asarray(scores), kind="stable"))
        assert np.all(np.asarray(scores)[ours] < threshold)
        return
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@given(
    st.lists(st.lists(SCORE_VALUES, max_size=8), min_size=1, max_size=10),
    st.sampled_from(["series32", "series64", "f4", "f8", "list"]),
    THRESHOLDS,
)
def test_token_issues_match(
    cl: SimpleNamespace, values: list[list[float]], kind: str, threshold: Any
) -> None:
    convert: dict[str, Callable[[list[float]], Any]] = {
        "series32": lambda v: pd.Series(np.array(v, dtype=np.float32)),
        "series64": lambda v: pd.Series(v, dtype=np.float64),
        "f4": lambda v: np.array(v, dtype=np.float32),
        "f8": lambda v: np.array(v, dtype=np.float64),
        "list": list,
    }
    token_scores = [convert[kind](v) for v in values]
    sentence_scores = np.zeros(len(values))
    ours = rank.issues_from_scores(sentence_scores, token_scores=token_scores, threshold=threshold)
    theirs = cl.rank.issues_from_scores(
        sentence_scores, token_scores=token_scores, threshold=threshold
    )
    assert ours == theirs
    assert all(type(i) is int and type(j) is int for i, j in ours)


# ---------------------------------------------------------------------------
# summary: differential
# ---------------------------------------------------------------------------

VOCAB = [
    "the", "The", "New", "York", "York-based", ".", ",", "'s", "(", ")", "-", "don't",
    "#tag", "a.b", "()", "<=>", "", "Über", "x",
]  # fmt: skip


@st.composite
def summary_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Tokens from a small vocabulary (repeats, punctuation, sub-words), labels, rounded
    probabilities (argmax ties), issues, and display options."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    S = draw(st.integers(1, 6))
    K = draw(st.integers(2, 4))
    tokens = [[str(w) for w in rng.choice(VOCAB, rng.integers(1, 8))] for _ in range(S)]
    labels = [rng.integers(0, K, len(t)).tolist() for t in tokens]
    pred_probs = [np.round(rng.dirichlet(np.ones(K), len(t)), 1) for t in tokens]
    pairs = [(s, t) for s in range(S) for t in range(len(tokens[s]))]
    order = rng.permutation(len(pairs))[: draw(st.integers(1, len(pairs)))]
    issues: Any = [pairs[k] for k in order]
    if draw(st.integers(0, 4)) == 0:
        issues = rng.permutation(S)[: draw(st.integers(1, S))]  # sentence issues (array)
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["labels"] = labels
    if draw(st.booleans()):
        options["pred_probs"] = pred_probs
    if draw(st.booleans()):
        options["class_names"] = ["O", "B-PER", "I-PER", "B-LOC"][:K]
    if draw(st.booleans()):
        options["exclude"] = [tuple(int(c) for c in pair) for pair in rng.integers(0, K, (3, 2))]
    if draw(st.booleans()):
        options["top"] = draw(st.integers(-1, 8))
    return {"tokens": tokens, "issues": issues, "options": options}


@given(summary_cases())
def test_display_issues_prints_what_cleanlab_prints(
    cl: SimpleNamespace, case: dict[str, Any]
) -> None:
    args = (case["issues"], case["tokens"])
    ours = run(summary.display_issues, *args, **case["options"])
    theirs = run(cl.summary.display_issues, *args, **case["options"])
    assert ours == theirs


@given(summary_cases(), st.booleans())
def test_common_label_issues_matches(
    cl: SimpleNamespace, case: dict[str, Any], verbose: bool
) -> None:
    issues = case["issues"]
    if not isinstance(issues, list):
        issues = [(int(s), 0) for s in issues]
    options = {k: v for k, v in case["options"].items()}
    options["verbose"] = verbose
    ours_text, ours_df, ours_error = run(
        summary.common_label_issues, issues, case["tokens"], **options
    )
    theirs_text, theirs_df, theirs_error = run(
        cl.summary.common_label_issues, issues, case["tokens"], **options
    )
    assert (ours_text, ours_error) == (theirs_text, theirs_error)
    if theirs_error is None:
        pd.testing.assert_frame_equal(ours_df, theirs_df, check_exact=True)


@given(summary_cases(), st.sampled_from([*VOCAB, "THE", "york", "absent"]))
def test_filter_by_token_matches(cl: SimpleNamespace, case: dict[str, Any], token: str) -> None:
    issues = case["issues"]
    if not isinstance(issues, list):
        return
    assert summary.filter_by_token(token, issues, case["tokens"]) == cl.summary.filter_by_token(
        token, issues, case["tokens"]
    )


# ---------------------------------------------------------------------------
# known answers: a 3-sentence, 3-class dataset
# ---------------------------------------------------------------------------

TOKENS = [["Alice", "visited", "Paris"], ["Bob", "left"], ["Paris", "Hilton", "met", "Bob"]]
CLASS_NAMES = ["O", "PER", "LOC"]
LABELS = [[1, 0, 2], [1, 0], [2, 0, 0, 1]]
PRED_PROBS = [
    np.array([[0.05, 0.9, 0.05], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]]),
    np.array([[0.3, 0.6, 0.1], [0.2, 0.7, 0.1]]),
    np.array([[0.1, 0.1, 0.8], [0.05, 0.85, 0.1], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1]]),
]
SELF_CONFIDENCE = [[0.9, 0.8, 0.6], [0.6, 0.2], [0.8, 0.05, 0.9, 0.7]]


def softmin(scores: list[float], temperature: float) -> float:
    weights = [math.exp((1 - s) / temperature) for s in scores]
    return sum(w * s for w, s in zip(weights, scores, strict=False)) / sum(weights)


def test_known_token_and_sentence_scores() -> None:
    sentences, tokens = rank.get_label_quality_scores(LABELS, PRED_PROBS)
    np.testing.assert_array_equal(sentences, [0.6, 0.2, 0.05])
    assert sentences.dtype == np.float64
    for series, expected in zip(tokens, SELF_CONFIDENCE, strict=False):
        assert isinstance(series, pd.Series)
        np.testing.assert_array_equal(series.to_numpy(), expected)
        assert list(series.index) == list(range(len(expected)))

    _, named = rank.get_label_quality_scores(LABELS, PRED_PROBS, tokens=TOKENS)
    assert [list(s.index) for s in named] == TOKENS
    assert named[2]["Hilton"] == 0.05

    margins, _ = rank.get_label_quality_scores(
        LABELS, PRED_PROBS, token_score_method="normalized_margin"
    )
    # min over each sentence of (p[label] - max other + 1) / 2
    np.testing.assert_allclose(margins, [0.7, 0.25, 0.1])


@pytest.mark.parametrize("temperature", [0.05, 0.2, 1.0, 10.0])
def test_known_softmin(temperature: float) -> None:
    sentences, _ = rank.get_label_quality_scores(
        LABELS,
        PRED_PROBS,
        sentence_score_method="softmin",
        sentence_score_kwargs={"temperature": temperature},
    )
    expected = [softmin(s, temperature) for s in SELF_CONFIDENCE]
    np.testing.assert_allclose(sentences, expected, rtol=1e-13)
    # Always between the minimum and the mean of the sentence.
    assert all(
        min(s) <= v <= np.mean(s) + 1e-15 for s, v in zip(SELF_CONFIDENCE, sentences, strict=False)
    )


def test_softmin_limits() -> None:
    def scores(temperature: float) -> np.ndarray:
        out, _ = rank.get_label_quality_scores(
            LABELS,
            PRED_PROBS,
            sentence_score_method="softmin",
            sentence_score_kwargs={"temperature": temperature},
        )
        return out

    np.testing.assert_array_equal(scores(0), [0.6, 0.2, 0.05])
    np.testing.assert_allclose(scores(math.inf), [np.mean(s) for s in SELF_CONFIDENCE])
    # Tiny temperatures act as 1e-6 and are as good as the minimum here.
    np.testing.assert_allclose(scores(1e-12), [0.6, 0.2, 0.05], rtol=1e-12)
    np.testing.assert_allclose(scores(1e-6), scores(-3.0), rtol=0)
    # Far above the spread of the scores, the softmin tends to the mean.
    np.testing.assert_allclose(scores(1e6), scores(math.inf), rtol=1e-6)


def test_issues_from_sentence_scores_edge_cases() -> None:
    sentences, _ = rank.get_label_quality_scores(LABELS, PRED_PROBS)  # [0.6, 0.2, 0.05]
    np.testing.assert_array_equal(rank.issues_from_scores(sentences), [2])
    np.testing.assert_array_equal(rank.issues_from_scores(sentences, threshold=0.5), [2, 1])
    empty = rank.issues_from_scores(sentences, threshold=0.05)  # strictly below only
    assert isinstance(empty, np.ndarray) and empty.size == 0 and empty.dtype == np.intp
    # Every sentence below: all of them, ranked (cleanlab raises IndexError here).
    np.testing.assert_array_equal(rank.issues_from_scores(sentences, threshold=1.0), [2, 1, 0])
    assert rank.issues_from_scores(np.array([]), threshold=0.5).size == 0
    np.testing.assert_array_equal(
        rank.issues_from_scores([0.3, np.nan, 0.1, 0.3], threshold=0.5), [2, 0, 3]
    )
    # An empty token_scores list falls back to sentence issues, as in cleanlab.
    np.testing.assert_array_equal(rank.issues_from_scores(sentences, token_scores=[]), [2])


def test_issues_from_token_scores() -> None:
    sentences, tokens = rank.get_label_quality_scores(LABELS, PRED_PROBS)
    issues = rank.issues_from_scores(sentences, token_scores=tokens, threshold=0.65)
    # 0.05 < 0.2 < 0.6 == 0.6 (tie kept in position order)
    assert issues == [(2, 1), (1, 1), (0, 2), (1, 0)]
    assert rank.issues_from_scores(sentences, token_scores=tokens, threshold=0.05) == []
    assert rank.issues_from_scores(sentences, token_scores=tokens) == [(2, 1)]
    as_lists = [list(s) for s in SELF_CONFIDENCE]
    assert rank.issues_from_scores(None, token_scores=as_lists, threshold=0.65) == issues


def test_filter_by_token_known() -> None:
    issues = [(2, 0), (0, 2), (1, 0), (2, 3)]
    assert summary.filter_by_token("paris", issues, TOKENS) == [(2, 0), (0, 2)]
    assert summary.filter_by_token("BOB", issues, TOKENS) == [(1, 0), (2, 3)]
    assert summary.filter_by_token("Carol", issues, TOKENS) == []


def test_common_label_issues_known() -> None:
    issues = [(2, 0), (0, 2), (2, 1), (1, 1), (2, 3)]
    text = printed(summary.common_label_issues, issues, TOKENS)
    assert text.splitlines()[0] == (
        "Token 'Paris' is potentially mislabeled 2 times throughout the dataset"
    )
    df = summary.common_label_issues(issues, TOKENS, top=0)
    assert list(df.columns) == ["token", "num_label_issues"]
    assert df.values.tolist() == [["Paris", 2], ["Hilton", 1], ["left", 1], ["Bob", 1]]

    with contextlib.redirect_stdout(io.StringIO()):
        by_pair = summary.common_label_issues(issues, TOKENS, labels=LABELS, pred_probs=PRED_PROBS)
        named = summary.common_label_issues(
            issues, TOKENS, labels=LABELS, pred_probs=PRED_PROBS, class_names=CLASS_NAMES
        )
    assert list(by_pair.columns) == ["token", "given_label", "predicted_label", "num_label_issues"]
    # Paris: labelled LOC and predicted LOC twice; Hilton O->PER, left O->PER, Bob PER->PER.
    assert by_pair.values.tolist() == [
        ["Paris", 2, 2, 2],
        ["Hilton", 0, 1, 1],
        ["left", 0, 1, 1],
        ["Bob", 1, 1, 1],
    ]
    assert named.values.tolist() == [
        ["Paris", "LOC", "LOC", 2],
        ["Hilton", "O", "PER", 1],
        ["left", "O", "PER", 1],
        ["Bob", "PER", "PER", 1],
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        excluded = summary.common_label_issues(
            issues, TOKENS, labels=LABELS, pred_probs=PRED_PROBS, exclude=[(0, 1)]
        )
    assert excluded["token"].tolist() == ["Paris", "Bob"]


def test_common_label_issues_report_known() -> None:
    issues = [(2, 1), (1, 1), (0, 2)]
    text = printed(
        summary.common_label_issues,
        issues,
        TOKENS,
        labels=LABELS,
        pred_probs=PRED_PROBS,
        class_names=CLASS_NAMES,
        top=2,
    )
    rule = "-" * 87
    assert text == (
        "Token 'Paris' is potentially mislabeled 1 times throughout the dataset\n"
        f"{rule}\n"
        "labeled as class `LOC` but predicted to actually be class `LOC` 1 times\n"
        "\n"
        "Token 'left' is potentially mislabeled 1 times throughout the dataset\n"
        f"{rule}\n"
        "labeled as class `O` but predicted to actually be class `PER` 1 times\n"
        "\n"
    )


def test_display_issues_known_output(cl: SimpleNamespace) -> None:
    kwargs = {"labels": LABELS, "pred_probs": PRED_PROBS, "class_names": CLASS_NAMES}
    text = printed(summary.display_issues, [(2, 1), (0, 2)], TOKENS, **kwargs)
    assert text == (
        "Sentence index: 2, Token index: 1\n"
        "Token: Hilton\n"
        "Given label: O, predicted label according to provided pred_probs: PER\n"
        "----\n"
        "Paris \x1b[31mHilton\x1b[0m met Bob\n"
        "\n\n"
        "Sentence index: 0, Token index: 2\n"
        "Token: Paris\n"
        "Given label: LOC, predicted label according to provided pred_probs: LOC\n"
        "----\n"
        "Alice visited \x1b[31mParis\x1b[0m\n"
    )
    assert text == printed(cl.summary.display_issues, [(2, 1), (0, 2)], TOKENS, **kwargs)
    # Excluded label swaps are skipped; without class names a note comes first.
    text = printed(
        summary.display_issues, [(2, 1), (0, 2)], TOKENS, labels=LABELS, pred_probs=PRED_PROBS,
        exclude=[(0, 1)],
    )  # fmt: skip
    assert text.startswith("Classes will be printed in terms of their integer index")
    assert "Hilton" not in text and "Given label: 2, predicted label" in text
    # Sentence issues print the sentence; top limits the count.
    text = printed(summary.display_issues, np.array([1, 2, 0]), TOKENS, top=2)
    assert text == "Sentence issue: Bob left\n\n\nSentence issue: Paris Hilton met Bob\n"


def test_sentence_text_and_highlighting() -> None:
    words = ["He", "said", "(", "loudly", ")", ":", "don", "'t", "-", "go", "!"]
    text = printed(summary.display_issues, [(0, 9)], [words])
    assert text.splitlines()[-1] == "He said (loudly): don't - \x1b[31mgo\x1b[0m!"
    # A word that is never a whole word is highlighted wherever it occurs.
    text = printed(summary.display_issues, [(0, 1)], [["York-based", "#tag"]])
    assert text.splitlines()[-1] == "York-based \x1b[31m#tag\x1b[0m"
    # Backslashes are printed as they are (cleanlab fails or alters such words).
    text = printed(summary.display_issues, [(0, 1)], [["path", "C:\\new"]])
    assert text.splitlines()[-1] == "path \x1b[31mC:\\new\x1b[0m"


def test_display_issues_with_no_issues_prints_nothing() -> None:
    assert printed(summary.display_issues, [], TOKENS) == ""  # cleanlab: IndexError
    assert printed(summary.display_issues, np.empty((0, 2), dtype=np.int64), TOKENS) == ""


def test_flat_issue_arrays_are_accepted() -> None:
    as_tuples = printed(summary.display_issues, [(2, 1), (0, 2)], TOKENS)
    as_array = printed(summary.display_issues, np.array([[2, 1], [0, 2]]), TOKENS)
    assert as_array == as_tuples
    with contextlib.redirect_stdout(io.StringIO()):
        df = summary.common_label_issues(np.array([[2, 0], [0, 2]]), TOKENS)
    assert df.values.tolist() == [["Paris", 2]]


# ---------------------------------------------------------------------------
# errors, empty sentences, and running without pandas
# ---------------------------------------------------------------------------


def test_empty_sentences_score_nan() -> None:
    labels = [[0, 1], [], [1]]
    pred_probs = [np.array([[0.8, 0.2], [0.4, 0.6]]), np.zeros((0, 2)), np.array([[0.3, 0.7]])]
    for method in ("min", "softmin"):
        sentences, tokens = rank.get_label_quality_scores(
            labels, pred_probs, sentence_score_method=method
        )
        assert np.isnan(sentences[1]) and not np.isnan(sentences[[0, 2]]).any()
        assert len(tokens[1]) == 0
    sentences, _ = rank.get_label_quality_scores(labels, [pred_probs[0], [], pred_probs[2]])
    np.testing.assert_array_equal(sentences[[0, 2]], [0.6, 0.7])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels": [[0, 1]], "pred_probs": []}, ValueError, "1 sentences but pred_probs has 0"),
        (
            {"labels": [[0, 1], [1]], "pred_probs": [np.eye(2), np.eye(2)]},
            ValueError,
            "sentence 1 has 1 labels but 2 rows of pred_probs",
        ),
        (
            {"labels": [[0], [1]], "pred_probs": [np.eye(2)[:1], np.eye(3)[1:2]]},
            ValueError,
            r"pred_probs\[1\] has 3 columns but pred_probs\[0\] has 2; every sentence needs",
        ),
        (
            {"labels": [[0, 1], [1]], "pred_probs": [np.eye(2), np.array([[np.nan, 1.0]])]},
            ValueError,
            "at sentence 1, token 0",
        ),
        (
            {"labels": [[0, 1], [0, 2]], "pred_probs": [np.eye(2), np.eye(2)]},
            ValueError,
            "label 2 at sentence 1, token 1",
        ),
        (
            {"labels": [[0, 1], [0.0]], "pred_probs": [np.eye(2), np.eye(2)[:1]]},
            TypeError,
            r"labels\[1\]",
        ),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2, dtype=np.float16)]},
            TypeError,
            r"pred_probs\[0\]",
        ),
        ({"labels": [[]], "pred_probs": [[]]}, ValueError, "every sentence has zero tokens"),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2)], "sentence_score_method": "max"},
            ValueError,
            "sentence_score_method",
        ),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2)], "token_score_method": "entropy"},
            ValueError,
            "token_score_method",
        ),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2)], "sentence_score_kwargs": {"t": 1}},
            TypeError,
            "unexpected keyword argument 't'",
        ),
        (
            {
                "labels": [[0, 1]],
                "pred_probs": [np.eye(2)],
                "sentence_score_kwargs": {"temperature": "hot"},
            },
            TypeError,
            "temperature",
        ),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2)], "tokens": [["a", "b"], ["c"]]},
            ValueError,
            "tokens has 2 sentences",
        ),
        (
            {"labels": [[0, 1]], "pred_probs": [np.eye(2)], "tokens": [["a"]]},
            ValueError,
            r"tokens\[0\] has 1 words",
        ),
    ],
)
def test_bad_input_errors(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    labels, pred_probs = kwargs.pop("labels"), kwargs.pop("pred_probs")
    with pytest.raises(error, match=match):
        rank.get_label_quality_scores(labels, pred_probs, **kwargs)


def test_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'tokenclean\[pandas\]'"):
        rank.get_label_quality_scores(LABELS, PRED_PROBS)
    with pytest.raises(ImportError, match=r"common_label_issues needs pandas"):
        summary.common_label_issues([(0, 0)], TOKENS)
    # Everything that returns no pandas object keeps working.
    assert rank.issues_from_scores(None, token_scores=SELF_CONFIDENCE, threshold=0.3) == [
        (2, 1),
        (1, 1),
    ]
    np.testing.assert_array_equal(rank.issues_from_scores(np.array([0.5, 0.05])), [1])
    assert summary.filter_by_token("bob", [(1, 0), (0, 0)], TOKENS) == [(1, 0)]
    text = printed(summary.display_issues, [(1, 0)], TOKENS, labels=LABELS)
    assert "Given label: 1" in text

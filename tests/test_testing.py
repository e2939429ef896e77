"""``tokenclean.testing``: its strategies draw what they promise, its invariants hold on the
engine and fail on wrong answers, and the module imports without hypothesis."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenclean.testing as tt
from conftest import FILTER_BY, RANKINGS

OPTIONS = st.fixed_dictionaries(
    {"filter_by": st.sampled_from(FILTER_BY), "return_indices_ranked_by": st.sampled_from(RANKINGS)}
)


def check_dataset(labels: list[Any], pred_probs: list[np.ndarray], dtypes: set[str]) -> None:
    """Valid input for find_label_issues, in the promised dtypes."""
    assert len(labels) == len(pred_probs) >= 1
    ks = {p.shape[1] for p in pred_probs}
    assert len(ks) == 1
    (k,) = ks
    flat: list[int] = []
    for ids, probs in zip(labels, pred_probs, strict=False):
        assert probs.shape == (len(ids), k)
        assert str(probs.dtype) in dtypes
        assert np.all((probs >= 0) & (probs <= 1))
        tolerance = 1e-5 if probs.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=tolerance)
        flat.extend(int(i) for i in ids)
    assert len(flat) >= 2 and len(set(flat)) >= 2
    assert all(0 <= i < k for i in flat)


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------


@given(tt.token_datasets())
def test_token_datasets_are_valid_input(data: tuple[list[Any], list[np.ndarray]]) -> None:
    labels, pred_probs = data
    check_dataset(labels, pred_probs, {"float32", "float64"})
    assert len({p.dtype for p in pred_probs}) == 1
    assert all(isinstance(sentence, list) for sentence in labels)
    assert all(type(i) is int for sentence in labels for i in sentence)


@given(
    st.sampled_from(["float32", "float64", "mixed"]),
    st.integers(2, 5),
    st.data(),
)
def test_token_datasets_options(dtype: str, k: int, draw: st.DataObject) -> None:
    labels, pred_probs = draw.draw(
        tt.token_datasets(num_classes=k, dtype=dtype, labels_as="array", max_sentences=8)
    )
    check_dataset(labels, pred_probs, {"float32", "float64"} if dtype == "mixed" else {dtype})
    assert all(p.shape[1] == k for p in pred_probs)
    assert all(isinstance(s, np.ndarray) and s.dtype == np.int64 for s in labels)


@settings(max_examples=30)
@given(tt.token_datasets(min_sentences=40, max_sentences=60, min_tokens=5, num_classes=5))
def test_probabilities_look_like_a_model(data: tuple[list[Any], list[np.ndarray]]) -> None:
    """Mostly confident rows that agree with the label, not uniform noise."""
    labels, pred_probs = data
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in labels])
    probs = np.concatenate([p.astype(np.float64) for p in pred_probs])
    agree = np.mean(probs.argmax(axis=1) == ids)
    assert agree > 0.7  # expected about 0.9 (5% wrong labels, 10% unsure rows)
    assert np.median(probs.max(axis=1)) > 0.8  # uniform rows would give about 0.45


@settings(max_examples=20)
@given(
    tt.token_datasets(
        num_classes=3, min_sentences=50, max_sentences=60, min_tokens=5, flip_rate=0.5
    )
)
def test_flip_rate_makes_label_errors(data: tuple[list[Any], list[np.ndarray]]) -> None:
    labels, pred_probs = data
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in labels])
    probs = np.concatenate(pred_probs)
    assert 0.3 < np.mean(probs.argmax(axis=1) != ids) < 0.75


@given(tt.class_names(min_classes=3, max_classes=6))
def test_class_names(names: list[str]) -> None:
    assert 3 <= len(names) <= 6
    assert len(set(names)) == len(names)
    assert all(names)


@given(tt.iob_class_names(), st.data())
def test_iob_tags_are_valid_or_malformed(names: list[str], draw: st.DataObject) -> None:
    assert names[0] == "O" and len(names) % 2 == 1
    assert all(n[:2] in ("B-", "I-") for n in names[1:])
    valid = draw.draw(tt.iob_tags(names, max_len=12))
    assert set(valid) <= set(names)
    assert tt.is_valid_iob2(valid)
    broken = draw.draw(tt.iob_tags(names, max_len=12, malformed=True))
    assert set(broken) <= set(names)
    assert not tt.is_valid_iob2(broken)


def test_is_valid_iob2_known() -> None:
    assert tt.is_valid_iob2([])
    assert tt.is_valid_iob2(["O", "B-PER", "I-PER", "B-PER", "B-LOC", "I-LOC", "O"])
    assert not tt.is_valid_iob2(["I-PER"])
    assert not tt.is_valid_iob2(["B-PER", "O", "I-PER"])
    assert not tt.is_valid_iob2(["B-PER", "I-LOC"])
    with pytest.raises(ValueError, match="not an IOB scheme"):
        tt.iob_tags(["A", "B"])


@given(tt.iob_datasets(flip_rate=0.0, dtype="float32"))
def test_iob_datasets_without_flips_are_valid_iob2(
    data: tuple[list[str], list[Any], list[np.ndarray]],
) -> None:
    names, labels, pred_probs = data
    check_dataset(labels, pred_probs, {"float32"})
    assert pred_probs[0].shape[1] == len(names)
    for sentence in labels:
        tags = [names[i] for i in sentence]
        # _ensure_two_classes may relabel the last token when one class fills the data
        assert tt.is_valid_iob2(tags[:-1])


# ---------------------------------------------------------------------------
# invariants, on the engine
# ---------------------------------------------------------------------------


@given(tt.token_datasets(), OPTIONS, st.randoms(use_true_random=False))
def test_issues_follow_permuted_sentences(
    data: tuple[list[Any], list[np.ndarray]], options: dict[str, Any], rng: Any
) -> None:
    labels, pred_probs = data
    order = list(range(len(labels)))
    rng.shuffle(order)
    issues = tt.assert_sentence_permutation_equivariant(labels, pred_probs, order, **options)
    tt.assert_issues_well_formed(
        issues, labels, pred_probs, return_indices_ranked_by=options["return_indices_ranked_by"]
    )


@given(tt.iob_datasets(dtype="mixed"), OPTIONS)
def test_flat_input_matches_list_input(
    data: tuple[list[str], list[Any], list[np.ndarray]], options: dict[str, Any]
) -> None:
    _, labels, pred_probs = data
    issues = tt.assert_flat_matches_ragged(labels, pred_probs, **options)
    tt.assert_issues_well_formed(
        issues, labels, pred_probs, return_indices_ranked_by=options["return_indices_ranked_by"]
    )


@settings(max_examples=5)
@given(tt.token_datasets(max_sentences=40), OPTIONS)
def test_threads_do_not_change_the_answer(
    data: tuple[list[Any], list[np.ndarray]], options: dict[str, Any]
) -> None:
    labels, pred_probs = data
    # enough repeats to pass the engine's single-thread threshold (65,536 tokens)
    repeats = 65_536 // sum(len(s) for s in labels) + 1
    tt.assert_thread_count_independent(labels * repeats, pred_probs * repeats, **options)


def test_unranked_issues_in_position_order() -> None:
    labels = [[0, 1], [1, 0, 0]]
    pred_probs = [np.array([[0.9, 0.1], [0.8, 0.2]]), np.array([[0.1, 0.9], [0.2, 0.8], [1, 0]])]
    issues = tt.assert_flat_matches_ragged(labels, pred_probs, return_indices_ranked_by=None)
    tt.assert_issues_well_formed(issues, labels, pred_probs, return_indices_ranked_by=None)
    with pytest.raises(AssertionError, match="position order"):
        tt.assert_issues_well_formed(
            [(1, 0), (0, 0)], labels, pred_probs, return_indices_ranked_by=None
        )


# ---------------------------------------------------------------------------
# the invariants catch wrong answers
# ---------------------------------------------------------------------------

LABELS = [[0, 1, 1], [1, 0], [0, 0]]
PRED_PROBS = [
    np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]),
    np.array([[0.2, 0.8], [0.95, 0.05]]),
    np.array([[0.85, 0.15], [0.1, 0.9]]),
]  # self-confidence of (2, 1) is 0.15, of (0, 2) 0.4


def test_well_formed_catches_bad_issues() -> None:
    tt.assert_issues_well_formed([(2, 1), (0, 2)], LABELS, PRED_PROBS)
    tt.assert_issues_well_formed(np.array([[2, 1], [0, 2]]), LABELS, PRED_PROBS)
    for bad, message in [
        ([(0, 2), (2, 1)], "ranked"),
        ([(2, 1), (2, 1)], "twice"),
        ([(2, 2)], "out of range"),
        ([(3, 0)], "out of range"),
    ]:
        with pytest.raises(AssertionError, match=message):
            tt.assert_issues_well_formed(bad, LABELS, PRED_PROBS)


def test_invariants_catch_wrong_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    def by_threads(labels: Any, pred_probs: Any, n_jobs: Any = None, **_: Any) -> Any:
        return [(0, 0)] if n_jobs == 2 else []

    monkeypatch.setattr(tt, "find_label_issues", by_threads)
    with pytest.raises(AssertionError, match="n_jobs=2 changed the issues"):
        tt.assert_thread_count_independent(LABELS, PRED_PROBS)

    def by_position(labels: Any, pred_probs: Any, **_: Any) -> Any:
        return [(0, 0)]

    monkeypatch.setattr(tt, "find_label_issues", by_position)
    with pytest.raises(AssertionError, match="issue set"):
        tt.assert_sentence_permutation_equivariant(LABELS, PRED_PROBS, [2, 0, 1])
    with pytest.raises(AssertionError, match="flat and list input disagree"):
        tt.assert_flat_matches_ragged(LABELS, PRED_PROBS)
    with pytest.raises(ValueError, match="permutation"):
        tt.assert_sentence_permutation_equivariant(LABELS, PRED_PROBS, [0, 0, 1])


def test_bad_strategy_options() -> None:
    with pytest.raises(ValueError, match="dtype"):
        tt.token_datasets(dtype="float16")
    with pytest.raises(ValueError, match="dtype"):
        tt.iob_datasets(dtype="float64 ")
    with pytest.raises(ValueError, match="labels_as"):
        tt.token_datasets(labels_as="tuple")
    with pytest.raises(ValueError, match="num_classes"):
        tt.token_datasets(num_classes=1)


# ---------------------------------------------------------------------------
# without hypothesis
# ---------------------------------------------------------------------------


def test_imports_without_hypothesis(monkeypatch: pytest.MonkeyPatch) -> None:
    code = (
        "import sys; import tokenclean.testing as t; "
        "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'; "
        "print(t.is_valid_iob2(['B-X', 'I-X']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "True"

    monkeypatch.setitem(sys.modules, "hypothesis", None)
    with pytest.raises(ImportError, match=r"pip install 'tokenclean\[testing\]'"):
        tt.token_datasets()
    with pytest.raises(ImportError, match="hypothesis"):
        tt.iob_class_names()
    # the invariants need no hypothesis
    tt.assert_thread_count_independent(LABELS, PRED_PROBS, n_jobs=(1, 2))


def test_the_readme_example_test_passes(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Property-based testing") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None and "def test_" in match.group(1)
    (tmp_path / "test_pasted.py").write_text(match.group(1), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pasted.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout

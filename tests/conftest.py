"""Shared test configuration: numpy dispatch, hypothesis profiles, data strategies.

Importable by test modules as ``from conftest import ragged_datasets, ...``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import warnings

# SPEC section 1: numpy's AVX-512 float64 log differs from the C library's by one
# ulp in a few values; limiting dispatch to AVX2 makes numpy's log equal libm's.
# This only works before numpy is first imported in the process.
if "numpy" not in sys.modules:
    os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL")

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

# ---------------------------------------------------------------------------
# hypothesis profiles
# ---------------------------------------------------------------------------

_QUIET_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=_QUIET_CHECKS,
)
settings.register_profile(
    "dev",
    max_examples=250,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET_CHECKS,
)
settings.register_profile(
    "soak",
    max_examples=3000,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET_CHECKS,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# ---------------------------------------------------------------------------
# vocabulary shared by the tests
# ---------------------------------------------------------------------------

FILTER_BY = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
PRUNE_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both")
RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")

# ---------------------------------------------------------------------------
# random datasets
# ---------------------------------------------------------------------------

_STYLES = ("softmax", "peaked", "dirichlet", "unnormalised")


def _probabilities(rng: np.random.Generator, true: np.ndarray, K: int, style: str) -> np.ndarray:
    """float64 probability rows in [0, 1] whose argmax tends to be ``true``."""
    N = true.shape[0]
    rows = np.arange(N)
    if style in ("softmax", "peaked"):
        logits = rng.normal(0.0, rng.uniform(0.3, 2.5), size=(N, K))
        boost = rng.uniform(0.0, 3.0 if style == "softmax" else 12.0, size=N)
        logits[rows, true] += boost
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)
    if style == "dirichlet":
        p = rng.dirichlet(np.full(K, rng.uniform(0.05, 2.0)), size=N)
        p[rows, true] += rng.uniform(0.0, 1.0, size=N)
        return p / p.sum(axis=1, keepdims=True)
    # unnormalised: independent values in [0, 1], rows need not sum to 1
    p = rng.random((N, K)) ** rng.uniform(0.5, 4.0)
    p[rows, true] = np.maximum(p[rows, true], rng.random(N))
    return p


@st.composite
def _flat_parts(
    draw: st.DrawFn,
    *,
    min_classes: int = 2,
    max_classes: int = 60,
    max_sentences: int = 25,
    max_len: int = 12,
    dtypes: tuple[str, ...] = ("float32", "float64"),
    allow_mixed: bool = True,
    allow_unnormalised: bool = True,
    allow_out_of_range: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[int], list[str]]:
    """(flat labels, flat float64 probabilities, sentence lengths, sentence dtypes)."""
    K = draw(
        st.one_of(
            st.integers(min_classes, max(min_classes, min(6, max_classes))),
            st.integers(min_classes, max_classes),
        )
    )
    lengths = draw(st.lists(st.integers(0, max_len), min_size=1, max_size=max_sentences))
    if sum(lengths) < 2:
        lengths.append(2)
    N = sum(lengths)
    n_present = draw(st.one_of(st.just(K), st.integers(2, K)))
    styles = _STYLES if allow_unnormalised else _STYLES[:-1]
    style = draw(st.sampled_from(styles))
    decimals = draw(st.sampled_from([None, None, 1, 2, 3]))
    flip_rate = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5]))
    duplicate_rows = draw(st.booleans())
    zero_entries = draw(st.sampled_from([0.0, 0.0, 0.1, 0.4]))
    out_of_range = allow_out_of_range and draw(st.booleans())
    dtype_choices = list(dtypes) + (["mixed"] if allow_mixed and len(dtypes) > 1 else [])
    dtype_mode = draw(st.sampled_from(dtype_choices))
    seed = draw(st.integers(0, 2**32 - 1))

    rng = np.random.default_rng(seed)
    present = rng.choice(K, size=n_present, replace=False)
    true = present[rng.integers(0, n_present, size=N)]
    p = _probabilities(rng, true, K, style)
    if zero_entries:
        p[rng.random(p.shape) < zero_entries] = 0.0
        if style != "unnormalised":
            totals = p.sum(axis=1, keepdims=True)
            p = np.where(totals > 0, p / np.where(totals > 0, totals, 1.0), 1.0 / K)
    if decimals is not None:
        p = np.round(p, decimals)
    if duplicate_rows and N > 2:
        src = rng.integers(0, N, size=N // 3)
        dst = rng.integers(0, N, size=N // 3)
        p[dst] = p[src]
        true[dst] = true[src]
    p = np.clip(p, 0.0, 1.0)

    labels = true.copy()
    flips = rng.random(N) < flip_rate
    labels[flips] = present[rng.integers(0, n_present, size=int(flips.sum()))]
    if np.unique(labels).shape[0] < 2:
        labels[0], labels[1] = present[0], present[1]
    if out_of_range:
        i, j = int(rng.integers(0, N)), int(rng.integers(0, K))
        p[i, j] = -5e-7 if rng.random() < 0.5 else 1.0 + 5e-7

    if dtype_mode == "mixed":
        sentence_dtypes = [str(rng.choice(["float32", "float64"])) for _ in lengths]
    else:
        sentence_dtypes = [dtype_mode] * len(lengths)
    return labels.astype(np.int64), p, lengths, sentence_dtypes


@st.composite
def ragged_datasets(draw: st.DrawFn, **options: Any) -> tuple[list[list[int]], list[np.ndarray]]:
    """Token-classification data: ``(labels, pred_probs)``.

    ``labels`` is a list of per-sentence lists of Python ints (sometimes numpy
    int arrays), ``pred_probs`` a list of ``(T_i, K)`` float32/float64 arrays;
    empty sentences, missing classes, ties (rounded probabilities, duplicated
    rows), exact zeros, unnormalised rows, flipped labels and mixed dtypes all
    occur. Keyword options are those of ``_flat_parts``.
    """
    labels, p, lengths, dtypes = draw(_flat_parts(**options))
    as_arrays = draw(st.sampled_from([False, False, True]))
    out_labels: list[Any] = []
    out_probs: list[np.ndarray] = []
    start = 0
    for length, dtype in zip(lengths, dtypes, strict=False):
        stop = start + length
        chunk = labels[start:stop]
        out_labels.append(chunk.copy() if as_arrays else [int(v) for v in chunk])
        out_probs.append(np.ascontiguousarray(p[start:stop], dtype=dtype))
        start = stop
    return out_labels, out_probs


@st.composite
def flat_datasets(draw: st.DrawFn, **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Multi-class data: ``(labels (N,) int64, pred_probs (N, K) float32/float64)``."""
    options.setdefault("allow_mixed", False)
    labels, p, _, dtypes = draw(_flat_parts(**options))
    return labels, np.ascontiguousarray(p, dtype=dtypes[0])


def kwargs_strategy(
    num_classes: int | None = None,
    *,
    allow_low_memory: bool = True,
    allow_none_ranking: bool = True,
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``find_label_issues``.

    Covers every ``filter_by``, every ranking (and ``None``), ``rank_by_kwargs``
    with ``adjust_pred_probs``, ``frac_noise``, ``min_examples_per_class``,
    ``num_to_remove_per_class`` (only with prune filters and when
    ``num_classes`` is given) and ``low_memory``.
    """
    rankings: list[str | None] = list(RANKINGS)
    if allow_none_ranking:
        rankings.append(None)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        kwargs["return_indices_ranked_by"] = draw(st.sampled_from(rankings))
        if allow_low_memory and draw(st.integers(0, 7)) == 0:
            kwargs["low_memory"] = True
            return kwargs
        filter_by = draw(st.sampled_from(FILTER_BY))
        kwargs["filter_by"] = filter_by
        if draw(st.integers(0, 3)) == 0:
            kwargs["rank_by_kwargs"] = {"adjust_pred_probs": True}
        if draw(st.integers(0, 2)) == 0:
            kwargs["frac_noise"] = draw(st.sampled_from([0.0, 0.25, 0.5, 0.8, 0.95]))
        if draw(st.integers(0, 2)) == 0:
            kwargs["min_examples_per_class"] = draw(st.sampled_from([0, 2, 3, 5]))
        if num_classes is not None and filter_by in PRUNE_FILTERS and draw(st.integers(0, 3)) == 0:
            kwargs["num_to_remove_per_class"] = draw(
                st.lists(st.integers(0, 4), min_size=num_classes, max_size=num_classes)
            )
        return kwargs

    return build()


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cleanlab_stable() -> Any:
    """cleanlab with stable sorts (see ``cleanlab_stable.py``); its token filter module."""
    pytest.importorskip("cleanlab")
    import cleanlab_stable as shim

    return shim.stable_cleanlab()


# --- helpers shared by the differential test files --------------------------------------

CONLL_PATH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "conll2003"
CONLL_PATH = CONLL_PATH / "conll2003.npz"


def quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with warnings, stdout and stderr (progress bars) suppressed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(*args, **kwargs)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("raised", exception)``, quietly.

    Only ``Exception`` is caught: a Rust panic (pyo3's ``PanicException`` derives from
    ``BaseException``) fails the test.
    """
    try:
        return "ok", quietly(fn, *args, **kwargs)
    except Exception as exc:
        return "raised", exc


def flatten(labels: list[Any], pred_probs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Flatten the way cleanlab's token function does (rows of non-empty sentences)."""
    flat_labels = np.array([int(v) for sentence in labels for v in sentence], dtype=np.int64)
    flat_probs = np.array([row for sentence in pred_probs for row in sentence])
    return flat_labels, flat_probs


def to_flat_index(labels: list[Any], issues: list[tuple[int, int]]) -> np.ndarray:
    starts = np.concatenate([[0], np.cumsum([len(s) for s in labels])])
    return np.array([starts[i] + j for i, j in issues], dtype=np.int64)


def assert_ranked_by_score(flat_issues: np.ndarray, scores: np.ndarray) -> None:
    """Scores ascending, equal scores in ascending position."""
    s = scores[flat_issues]
    assert len(s) < 2 or bool(np.all(s[:-1] <= s[1:]))
    tied = s[:-1] == s[1:]
    assert np.all(flat_issues[:-1][tied] < flat_issues[1:][tied])


def sentence_dataset(
    n: int, k: int, dtype: Any, seed: int, *, flip: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat labels, probabilities and sentence lengths (0-12 tokens, some empty sentences),
    with about ``flip`` of the labels redrawn at random."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 13, size=2 * n // 6 + 2)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n) + 1]
    lengths[-1] -= lengths.sum() - n
    true = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += rng.uniform(0, 4, size=n)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.where(rng.random(n) < flip, rng.integers(0, k, size=n), true)
    return labels.astype(np.int64), p.astype(dtype), lengths.astype(np.int64)


def is_clean_error(exc: BaseException) -> bool:
    """A plain ValueError/TypeError, or one of ``tokenclean.errors`` (which also derive from
    AssertionError, for code written against cleanlab's asserts)."""
    ours = type(exc).__module__ == "tokenclean.errors"
    return type(exc) in (ValueError, TypeError) or (
        ours and isinstance(exc, (ValueError, TypeError))
    )


def note(text: str) -> None:
    """``hypothesis.event`` inside a hypothesis test, nothing elsewhere."""
    if currently_in_test_context():
        event(text)


def both_ok(ours: tuple[str, Any], theirs: tuple[str, Any], other: str) -> bool:
    """True when both calls returned; when ``other`` raised, the engine must raise the same
    exception type (and False is returned)."""
    if theirs[0] == "raised":
        note(f"{other} raised {type(theirs[1]).__name__}")
        assert ours[0] == "raised", f"{other} raised {theirs[1]!r}, engine returned {ours[1]!r}"
        assert type(ours[1]) is type(theirs[1]), (ours[1], theirs[1])
        return False
    assert ours[0] == "ok", f"engine raised {ours[1]!r}, {other} returned"
    return True


def run_readme_example(section: str, tmp_path: Path) -> str:
    """Run the first ```python block after the README heading ``section``; return its stdout."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", readme[readme.index(section) :], re.S)
    assert match is not None, f"no python example under {section!r}"
    script = tmp_path / "example.py"
    script.write_text(match.group(1), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=True
    )
    return run.stdout

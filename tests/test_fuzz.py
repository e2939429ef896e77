"""Fuzzing the three entry points with malformed input (SPEC section 5, issue 7).

Hypothesis draws a valid dataset, then applies random *mutations* from every category of
SPEC section 5, alone and combined: wrong types nested inside otherwise valid data, huge and
negative numbers, unusual dtypes, int/object/bool arrays, 0-d/1-d/3-d arrays, mismatched
lengths, empty data, and junk keyword values. Some mutations keep the input valid (tuples,
Fortran order, big-endian, read-only, strided views, nested lists, narrow integer labels,
mixed float32/float64, empty sentences).

Every call must end in exactly one of two ways:

* it returns exactly the answer of the pure-numpy oracle (``tokenclean.reference``);
* it raises ``ValueError`` or ``TypeError`` (exactly those types) with a non-empty message.

Anything else fails: another exception type, ``pyo3_runtime.PanicException`` (a
``BaseException``, so it is caught as such), a wrong answer, or a crash of the process.

On top of that, an independent judge (:class:`Judge`, written from SPEC section 5, not from
the implementation) decides from the final input whether it is *certainly invalid* (the call
must raise), *certainly valid* (the call must return, unless the oracle refuses it too) or
*unsure* (implementation-defined, e.g. float16 probabilities or an integral float label:
either outcome is fine as long as it is one of the two above).

The number of examples comes from the hypothesis profile (``tests/conftest.py``): "ci"
(bounded, derandomised) when CI is set, "dev" otherwise, "soak" for long local runs
(``HYPOTHESIS_PROFILE=soak python -m pytest tests/test_fuzz.py``).
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import tokenclean
from conftest import (
    FILTER_BY,
    PRUNE_FILTERS,
    RANKINGS,
    flat_datasets,
    is_clean_error,
    kwargs_strategy,
    ragged_datasets,
)
from tokenclean import reference
from tokenclean.filter import find_label_issues as find_mc
from tokenclean.token_classification.filter import find_label_issues_flat as find_flat

# Keywords the token and multi-class functions accept (besides the ranking and low_memory).
KNOWN_KEYWORDS = frozenset(
    {
        "filter_by",
        "frac_noise",
        "num_to_remove_per_class",
        "min_examples_per_class",
        "confident_joint",
        "n_jobs",
        "verbose",
        "rank_by_kwargs",
        "multi_label",
        "return_indices_ranked_by",
        "low_memory",
    }
)
SLACK = 1e-6  # SPEC: probabilities must lie in [-1e-6, 1 + 1e-6]


# ---------------------------------------------------------------------------
# the case under test
# ---------------------------------------------------------------------------


@dataclass
class Case:
    """One call: ``api`` is "list", "flat" or "mc"; ``lengths`` only for "flat"."""

    api: str
    labels: Any
    probs: Any
    lengths: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"api={self.api}; mutations: {'; '.join(self.log) or 'none'}"


def _call(case: Case) -> Any:
    if case.api == "list":
        return tokenclean.find_label_issues(case.labels, case.probs, **case.kwargs)
    if case.api == "flat":
        return find_flat(case.labels, case.probs, case.lengths, **case.kwargs)
    return find_mc(case.labels, case.probs, **case.kwargs)


# ---------------------------------------------------------------------------
# the oracle (valid input only; tokenclean.reference assumes it)
# ---------------------------------------------------------------------------


def _ints(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        return x.astype(np.int64).reshape(-1)
    items = x.ravel().tolist() if isinstance(x, np.ndarray) else list(x)
    return np.array([int(v) for v in items], dtype=np.int64)


def _floats(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x, dtype=np.float64)


def _oracle_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    out.pop("n_jobs", None)
    out.pop("verbose", None)
    out.pop("multi_label", None)
    removals = out.get("num_to_remove_per_class")
    if isinstance(removals, np.ndarray):
        # cleanlab reads e.g. a (K, 1) array as its K values; the reference would broadcast
        out["num_to_remove_per_class"] = removals.ravel().tolist()
    if out.get("confident_joint") is not None:
        out["confident_joint"] = np.asarray(out["confident_joint"]).astype(np.float64, order="K")
    if "low_memory" in out:
        out["low_memory"] = bool(out["low_memory"])
    if out.get("rank_by_kwargs") is not None:
        rbk = dict(out["rank_by_kwargs"] or {})
        if "adjust_pred_probs" in rbk:
            rbk["adjust_pred_probs"] = bool(rbk["adjust_pred_probs"])
        out["rank_by_kwargs"] = rbk
    return out


def _oracle(case: Case) -> Any:
    """The reference answer, in the output format of ``case.api``."""
    kw = _oracle_kwargs(case.kwargs)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if case.api == "list":
            labels = [_ints(x) for x in case.labels]
            probs = [_floats(x) for x in case.probs]
            return reference.find_label_issues(labels, probs, **kw)
        labels = _ints(case.labels)
        probs = _floats(case.probs)
        if case.api == "flat":
            flat = reference.find_label_issues_flat(labels, np.ascontiguousarray(probs), **kw)
            starts = np.concatenate([[0], np.cumsum(_ints(case.lengths))])
            sentence = np.searchsorted(starts, flat, side="right") - 1
            return np.stack([sentence, flat - starts[sentence]], axis=1).astype(np.int64)
        ranked_by = kw.pop("return_indices_ranked_by", None)
        flat = reference.find_label_issues_flat(
            labels, probs, return_indices_ranked_by=ranked_by, **kw
        )
        if ranked_by is None:
            mask = np.zeros(labels.shape[0], dtype=bool)
            mask[flat] = True
            return mask
        return flat


def _same_answer(case: Case, got: Any, expected: Any) -> None:
    what = case.describe()
    if case.api == "list":
        assert isinstance(got, list), what
        assert all(
            type(p) is tuple and len(p) == 2 and all(type(v) is int for v in p) for p in got
        ), what
        assert got == expected, f"{what}\n got {got}\nwant {expected}"
    elif case.api == "flat":
        assert isinstance(got, np.ndarray) and got.dtype == np.int64, what
        assert got.ndim == 2 and got.shape[1] == 2, what
        assert np.array_equal(got, expected), (
            f"{what}\n got {got.tolist()}\nwant {expected.tolist()}"
        )
    else:
        assert isinstance(got, np.ndarray), what
        assert got.dtype.kind == expected.dtype.kind, what
        assert np.array_equal(got, expected), (
            f"{what}\n got {got.tolist()}\nwant {expected.tolist()}"
        )


# ---------------------------------------------------------------------------
# the judge: is the input certainly valid, certainly invalid, or implementation-defined?
# ---------------------------------------------------------------------------


class Judge:
    def __init__(self) -> None:
        self.invalid: list[str] = []
        self.unsure: list[str] = []

    def bad(self, why: str) -> None:
        self.invalid.append(why)

    def maybe(self, why: str) -> None:
        self.unsure.append(why)

    @property
    def verdict(self) -> str:
        if self.invalid:
            return "invalid"
        return "unsure" if self.unsure else "valid"


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _label_items(items: Iterable[Any], where: str, j: Judge) -> list[int] | None:
    out: list[int] = []
    for t, x in enumerate(items):
        if isinstance(x, (bool, np.bool_)):
            j.bad(f"{where}[{t}] is a bool")
            return None
        if _is_int(x):
            out.append(int(x))
        elif isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iu":
            j.maybe(f"{where}[{t}] is a 0-d integer array")
            out.append(int(x))
        elif isinstance(x, (float, np.floating)):
            if math.isfinite(x) and float(x).is_integer():
                j.maybe(f"{where}[{t}] is an integral float")
                out.append(int(x))
            else:
                j.bad(f"{where}[{t}] = {x!r} is not integral")
                return None
        else:
            j.bad(f"{where}[{t}] = {x!r} is not an integer")
            return None
    return out


def _label_sequence(x: Any, where: str, j: Judge, *, top: bool = False) -> list[int] | None:
    """Labels of one sentence (or the flat labels when ``top``) as ints, judged."""
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            j.bad(f"{where} has shape {x.shape}")
            return None
        kind = x.dtype.kind
        if kind in "iu":
            return [int(v) for v in x.tolist()]
        if x.size == 0 and kind not in "Of":
            # no label at all: whether the dtype matters is the implementation's choice
            # (an empty float64 array, numpy's default for np.array([]), must be accepted)
            j.maybe(f"{where}: empty {x.dtype} array")
            return []
        if kind == "O" and top:
            # Flat labels: an object array of ints is refused by design (the list API takes
            # them, element by element); either outcome is fine.
            j.maybe(f"{where} is an object array")
        if kind in "Of":
            if kind == "f" and x.size == 0 and top:
                j.maybe(f"{where}: empty float array")
            return _label_items(list(x), where, j)
        j.bad(f"{where} has dtype {x.dtype}")
        return None
    if isinstance(x, (list, tuple)):
        return _label_items(x, where, j)
    if (
        x is None
        or isinstance(x, (str, bytes, int, float, np.generic))
        or (top and isinstance(x, dict))
    ):
        j.bad(f"{where} is a {type(x).__name__}")
        return None
    # Other iterables (generators, sets, dicts: their keys) are read as cleanlab reads them.
    j.maybe(f"{where} is a {type(x).__name__}")
    return None


def _leaves(x: Any) -> Iterable[Any]:
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _leaves(y)
    else:
        yield x


def _prob_array(x: Any, where: str, j: Judge) -> np.ndarray | None:
    """The probabilities of one sentence (or the flat matrix) as an array, judged by type."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f" or x.dtype.itemsize not in (4, 8):
            j.maybe(f"{where} has dtype {x.dtype}")
        return x
    if isinstance(x, (list, tuple)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            j.bad(f"{where} is not a float array")
            return None
        if not all(_is_real(v) for v in _leaves(x)):
            j.maybe(f"{where} holds non-numbers that numpy converts")
        return arr
    j.bad(f"{where} is a {type(x).__name__}")
    return None


def _judge_values(arr: np.ndarray, where: str, j: Judge, kwargs: dict[str, Any]) -> None:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            v = np.asarray(arr).astype(np.float64)
    except (TypeError, ValueError):
        j.maybe(f"{where} cannot be read as floats")
        return
    if v.size == 0:
        return
    if not np.isfinite(v).all():
        j.bad(f"{where} holds non-finite probabilities")
    elif ((v < -SLACK) | (v > 1 + SLACK)).any():
        j.bad(f"{where} holds probabilities outside [-1e-6, 1 + 1e-6]")
    elif ((v < 0) | (v > 1)).any() and (
        kwargs.get("return_indices_ranked_by", "") == "confidence_weighted_entropy"
    ):
        j.maybe(f"{where}: probabilities within the slack, ranked by entropy")


def _judge_classes(labels: list[int], k: int, python_ints: bool, j: Judge) -> None:
    if any(v < 0 or v >= k for v in labels):
        j.bad(f"a label is outside 0..{k - 1}")
    elif len(set(labels)) < 2:
        if python_ints and set(labels) == {0}:
            j.maybe("one class, all Python int 0")
        else:
            j.bad("fewer than two classes")


def _judge_kwargs(kwargs: dict[str, Any], k: int | None, j: Judge, api: str) -> None:
    known = KNOWN_KEYWORDS - {"low_memory"} if api == "mc" else KNOWN_KEYWORDS
    unknown = set(kwargs) - known
    if unknown:
        j.bad(f"unknown keyword {sorted(unknown)}")
    ranked = kwargs.get("return_indices_ranked_by", "self_confidence")
    if ranked is not None and not (isinstance(ranked, str) and ranked in RANKINGS):
        j.bad(f"ranking {ranked!r}")
    low_memory = kwargs.get("low_memory", False)
    if not isinstance(low_memory, (bool, np.bool_)):
        j.maybe(f"low_memory={low_memory!r}")
        low_memory = bool(low_memory)
    n_jobs = kwargs.get("n_jobs")
    if n_jobs is not None:
        if isinstance(n_jobs, (bool, np.bool_)) or (isinstance(n_jobs, float) and n_jobs >= 1):
            j.maybe(f"n_jobs={n_jobs!r}")
        elif not _is_int(n_jobs):
            j.bad(f"n_jobs={n_jobs!r} is not an integer")
        elif n_jobs < 1:
            j.bad(f"n_jobs={n_jobs}")
    for name in ("frac_noise", "min_examples_per_class"):
        if name in kwargs:
            v = kwargs[name]
            if isinstance(v, (bool, np.bool_)):
                j.maybe(f"{name}={v!r}")
            elif not _is_real(v):
                j.bad(f"{name}={v!r} is not a number")
            elif not math.isfinite(v):
                j.maybe(f"{name}={v!r}")
    rbk = kwargs.get("rank_by_kwargs")
    if rbk:
        if not isinstance(rbk, dict):
            j.bad(f"rank_by_kwargs={rbk!r}")
        else:
            if set(rbk) - {"adjust_pred_probs"}:
                j.bad(f"rank_by_kwargs has unknown keys {sorted(set(rbk))}")
            if not isinstance(rbk.get("adjust_pred_probs", False), (bool, np.bool_)):
                j.maybe("adjust_pred_probs is not a bool")
    if kwargs.get("multi_label"):
        j.maybe("multi_label")
    filter_by = kwargs.get("filter_by", "prune_by_noise_rate")
    if not isinstance(filter_by, str):
        j.bad(f"filter_by={filter_by!r} is not a string")
        return
    if filter_by not in FILTER_BY:
        if low_memory:
            j.maybe(f"filter_by={filter_by!r} with low_memory")
        else:
            j.bad(f"filter_by={filter_by!r}")
        return
    prunes = filter_by in PRUNE_FILTERS and not low_memory
    removals = kwargs.get("num_to_remove_per_class")
    if removals is not None:
        items = list(removals.ravel()) if isinstance(removals, np.ndarray) else removals
        if isinstance(items, (list, tuple)) and all(_is_int(r) for r in items):
            if low_memory:
                pass
            elif not prunes:
                j.bad("num_to_remove_per_class without a prune filter")
            elif k is not None and len(items) != k:
                j.bad(f"num_to_remove_per_class has {len(items)} entries, K={k}")
            if any(abs(int(r)) > 2**62 for r in items):
                j.maybe("num_to_remove_per_class near the int64 limits")
        elif low_memory:
            j.maybe("junk num_to_remove_per_class with low_memory")
        else:
            j.bad(f"num_to_remove_per_class={removals!r}")
    cj = kwargs.get("confident_joint")
    if cj is not None:
        arr = np.asarray(cj) if isinstance(cj, (list, tuple, np.ndarray)) else None
        if not prunes:
            j.maybe("confident_joint that is not used")
        elif arr is None or arr.dtype.kind not in "iuf":
            j.bad(f"confident_joint={cj!r}")
        elif arr.ndim != 2 or (k is not None and arr.shape != (k, k)):
            j.bad(f"confident_joint has shape {arr.shape}")
        elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
            j.maybe("confident_joint is not finite")


def judge(case: Case) -> Judge:
    j = Judge()
    if case.api == "list":
        _judge_list(case, j)
    else:
        _judge_flat(case, j)
    return j


def _judge_list(case: Case, j: Judge) -> None:
    labels, probs = case.labels, case.probs
    k: int | None = None
    for name, x in (("labels", labels), ("pred_probs", probs)):
        if not isinstance(x, (list, tuple)):
            if x is None or isinstance(x, (str, bytes, int, float)):
                j.bad(f"{name} is a {type(x).__name__}")
            else:
                j.maybe(f"{name} is a {type(x).__name__}")
    if j.verdict != "valid":
        _judge_kwargs(case.kwargs, None, j, case.api)
        return
    if len(labels) != len(probs):
        j.bad("different numbers of sentences")
    if len(labels) == 0:
        j.bad("no sentence")
    flat: list[int] = []
    python_ints = True
    undetermined = False  # some sentence could not be read: no conclusion about the whole
    for s, (lab, pp) in enumerate(zip(labels, probs, strict=False)):
        values = _label_sequence(lab, f"labels[{s}]", j)
        # cleanlab's one-class allowance looks at the flattened labels: empty arrays add none
        python_ints &= (isinstance(lab, (list, tuple)) and all(type(v) is int for v in lab)) or (
            isinstance(lab, np.ndarray) and lab.size == 0
        )
        arr = _prob_array(pp, f"pred_probs[{s}]", j)
        if values is None or arr is None:
            undetermined = True
            continue
        flat += values
        if not values and arr.ndim >= 1 and arr.shape[0] == 0:
            if arr.ndim != 2:
                j.maybe(f"pred_probs[{s}] is empty with shape {arr.shape}")
            continue
        if arr.ndim != 2:
            j.bad(f"pred_probs[{s}] has shape {arr.shape}")
            continue
        if arr.shape[0] != len(values):
            j.bad(f"sentence {s}: {len(values)} labels, {arr.shape[0]} rows")
            continue
        if k is None:
            k = arr.shape[1]
        elif arr.shape[1] != k:
            j.bad(f"pred_probs[{s}] has {arr.shape[1]} classes, not {k}")
        _judge_values(arr, f"pred_probs[{s}]", j, case.kwargs)
    if undetermined:
        pass
    elif not flat or k is None:
        j.bad("no token")
    elif j.verdict != "invalid":
        _judge_classes(flat, k, python_ints, j)
    _judge_kwargs(case.kwargs, k, j, case.api)


def _judge_flat(case: Case, j: Judge) -> None:
    labels = _label_sequence(case.labels, "labels", j, top=True)
    python_ints = isinstance(case.labels, np.ndarray) or (
        isinstance(case.labels, (list, tuple)) and all(type(v) is int for v in case.labels)
    )
    arr = _prob_array(case.probs, "pred_probs", j)
    k = None
    if arr is not None:
        if arr.ndim != 2:
            j.bad(f"pred_probs has shape {arr.shape}")
        else:
            k = arr.shape[1]
            if labels is not None and len(labels) != arr.shape[0]:
                j.bad("labels and rows differ")
            _judge_values(arr, "pred_probs", j, case.kwargs)
    if case.api == "flat":
        lengths = _label_sequence(case.lengths, "lengths", j, top=True)
        if lengths is not None:
            if any(v < 0 for v in lengths):
                j.bad("negative length")
            elif arr is not None and arr.ndim == 2 and sum(lengths) != arr.shape[0]:
                j.bad("lengths do not add up")
    if labels is not None and k is not None:
        if not labels:
            j.bad("no token")
        else:
            _judge_classes(labels, k, python_ints, j)
    _judge_kwargs(case.kwargs, k, j, case.api)


# ---------------------------------------------------------------------------
# running one case
# ---------------------------------------------------------------------------


def _note(text: str) -> None:
    try:
        note(text)
    except InvalidArgument:  # outside a hypothesis test (the catalogue below)
        pass


def check(case: Case) -> str:
    """Runs the case and asserts the contract; returns "returned" or "raised"."""
    verdict = judge(case)
    _note(case.describe())
    _note(f"judge: {verdict.verdict} invalid={verdict.invalid} unsure={verdict.unsure}")
    error: BaseException | None = None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            got = _call(case)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # PanicException derives from BaseException
            error = e
    what = case.describe()
    if error is not None:
        kind = f"{type(error).__module__}.{type(error).__qualname__}"
        assert is_clean_error(error), f"{what}\nraised {kind}: {error}"
        assert str(error).strip(), f"{what}\nraised {kind} with an empty message"
        if verdict.verdict == "valid":
            try:
                expected = _oracle(case)
            except Exception:
                return "raised"  # the oracle refuses it too (e.g. adjust + entropy)
            pytest.fail(f"{what}\nvalid input refused: {kind}: {error}\noracle: {expected!r}")
        return "raised"
    assert verdict.verdict != "invalid", f"{what}\ninvalid input accepted: {verdict.invalid}"
    try:
        expected = _oracle(case)
    except Exception as e:
        pytest.fail(f"{what}\naccepted input the oracle cannot compute: {e!r}; got {got!r}")
    _same_answer(case, got, expected)
    return "returned"


# ---------------------------------------------------------------------------
# junk values
# ---------------------------------------------------------------------------


class Weird:
    """An object numpy and Python know nothing about."""

    def __repr__(self) -> str:
        return "Weird()"


JUNK_LABELS: list[Any] = [
    "x",
    "",
    None,
    1.5,
    1.0,
    float("nan"),
    float("inf"),
    [0],
    [],
    (1,),
    {},
    {0: 1},
    b"0",
    np.float64(1.0),
    np.float64(0.5),
    np.float32(2.0),
    np.bool_(True),
    np.bool_(False),
    True,
    False,
    2**70,
    -(2**70),
    -(2**63),
    2**63 - 1,
    2**63,
    2**64,
    -(2**64),
    -1,
    np.int8(-1),
    np.int8(1),
    np.uint8(1),
    np.uint64(2**64 - 1),
    np.uint64(1),
    np.int64(-(2**63)),
    1 + 0j,
    np.array(1),
    np.array([1]),
    Weird(),
]
JUNK_SENTENCE_LABELS: list[Any] = [
    None,
    "abc",
    b"ab",
    3,
    2.5,
    {},
    {0: 1},
    np.array(1),
    np.float64(1),
    Weird(),
]
LABEL_DTYPES: list[Any] = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    ">i4",
    ">u8",
    "bool",
    "float16",
    "float32",
    "float64",
    "object",
    "complex64",
    "U3",
]
JUNK_PROBS: list[float] = [
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -1e308,
    -1e-3,
    1 + 1e-5,
    2.0,
    -1.0,
    1 + 5e-7,
    -5e-7,
    -0.0,
    5e-324,
    0.0,
    1.0,
]
PROB_DTYPES: list[Any] = [
    "float16",
    "float32",
    "float64",
    ">f4",
    ">f8",
    "<f4",
    "longdouble",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint64",
    "bool",
    "object",
    "complex64",
    "complex128",
]
JUNK_KWARGS: dict[str, list[Any]] = {
    "filter_by": [
        *FILTER_BY,
        "",
        "BOTH",
        "both ",
        "prune_by_noise",
        "x" * 60,
        None,
        1,
        b"both",
        ["both"],
    ],
    "return_indices_ranked_by": [*RANKINGS, None, "", "self", 1, b"self_confidence", ["x"]],
    "n_jobs": [
        0,
        -1,
        True,
        False,
        2**64,
        -(2**64),
        2**63,
        "2",
        2.0,
        1.5,
        1,
        2,
        3,
        4,
        257,
        None,
        np.int64(2),
        np.int8(-1),
        np.uint64(3),
    ],
    "frac_noise": [
        float("nan"),
        float("inf"),
        float("-inf"),
        "x",
        None,
        -1,
        0,
        0.5,
        1,
        2**70,
        1e308,
        -1e308,
        np.float32(0.5),
        True,
        [0.5],
    ],
    "min_examples_per_class": [
        -1,
        2**70,
        -(2**70),
        None,
        0,
        1,
        5,
        1.5,
        float("nan"),
        float("inf"),
        "3",
        True,
        np.int64(2),
        1e308,
    ],
    "rank_by_kwargs": [
        None,
        {},
        [],
        "",
        "x",
        1,
        [1],
        {"foo": 1},
        {"adjust_pred_probs": True},
        {"adjust_pred_probs": False},
        {"adjust_pred_probs": "yes"},
        {"adjust_pred_probs": 1},
        {"adjust_pred_probs": None},
        {"adjust_pred_probs": np.bool_(True)},
    ],
    "low_memory": [True, False, "yes", 1, None, np.bool_(True), np.bool_(False)],
    "verbose": [True, False, 0],
    "multi_label": [False, True],
}
UNKNOWN_KWARGS: list[dict[str, Any]] = [
    {"bogus": 1},
    {"n_job": 2},
    {"return_indices_ranked": "self_confidence"},
    {"labels": [0]},
]


@functools.cache
def junk_removals(k: int) -> st.SearchStrategy[Any]:
    counts = st.integers(-5, 10)
    return st.one_of(
        st.lists(counts, min_size=k, max_size=k),
        st.lists(counts, min_size=0, max_size=k + 2),
        st.lists(
            st.sampled_from([-1, 0, 2**62, 2**63 - 1, -(2**63), 2**63, 2**64, -(2**70)]),
            min_size=k,
            max_size=k,
        ),
        st.sampled_from(
            [
                None,
                "abc",
                5,
                [1.5] * k,
                [[1]] * k,
                ["1"] * k,
                [None] * k,
                [True] * k,
                np.ones(k, dtype=np.int64),
                np.ones(k, dtype=np.float64),
                np.ones((k, 1), dtype=np.int64),
                np.ones(k, dtype=np.uint8),
            ]
        ),
    )


def _square(k: int, values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64).reshape(k, k)


JOINT_STYLES: dict[str, Callable[[np.ndarray], Any]] = {
    "int64": np.asarray,
    "float64": functools.partial(np.asarray, dtype=np.float64),
    "fortran": functools.partial(np.asfortranarray, dtype=np.float64),
    "list": np.ndarray.tolist,
    "float32": functools.partial(np.asarray, dtype=np.float32),
    "negative": np.negative,
    "huge": functools.partial(np.multiply, 1e300),
}


@functools.cache
def junk_joint(k: int) -> st.SearchStrategy[Any]:
    valid = st.builds(
        _square, st.just(k), st.lists(st.integers(0, 20), min_size=k * k, max_size=k * k)
    )
    styled = st.builds(
        lambda style, a: JOINT_STYLES[style](a), st.sampled_from(sorted(JOINT_STYLES)), valid
    )
    return st.one_of(
        styled,
        st.sampled_from(
            [
                np.ones((k + 1, k + 1)),
                np.ones((k, max(k - 1, 0))),
                np.ones(k),
                np.ones((k, k, 1)),
                np.full((k, k), np.nan),
                np.full((k, k), np.inf),
                np.full((k, k), "a"),
                np.ones((k, k), dtype=bool),
                np.ones((k, k), dtype=object),
                np.zeros((0, 0)),
                np.float64(3.0),
                3,
                "cj",
                [["1"] * k] * k,
                Weird(),
            ]
        ),
    )


# ---------------------------------------------------------------------------
# mutations
# ---------------------------------------------------------------------------

Mutation = Callable[[st.DrawFn, Case], None]


def _sentences_with_tokens(case: Case) -> list[int]:
    if not isinstance(case.labels, list):
        return []
    return [s for s, lab in enumerate(case.labels) if _len(lab) > 0]


def _len(x: Any) -> int:
    try:
        return len(x)
    except TypeError:
        return 0


def _as_list(x: Any) -> list[Any]:
    return list(x.tolist()) if isinstance(x, np.ndarray) else list(x)


def m_junk_label(draw: st.DrawFn, case: Case) -> None:
    """A junk value at a random position of otherwise valid labels."""
    value = draw(st.one_of(st.sampled_from(JUNK_LABELS), st.integers(-(2**80), 2**80)))
    if case.api == "list":
        choices = _sentences_with_tokens(case)
        if not choices:
            return
        s = draw(st.sampled_from(choices))
        try:
            sentence = _as_list(case.labels[s])
        except TypeError:
            return
        if not sentence:
            return
        t = draw(st.integers(0, len(sentence) - 1))
        sentence[t] = value
        case.labels[s] = sentence
        case.log.append(f"labels[{s}][{t}] = {value!r}")
    else:
        try:
            labels = _as_list(case.labels)
        except TypeError:
            return
        if not labels:
            return
        t = draw(st.integers(0, len(labels) - 1))
        labels[t] = value
        case.labels = labels
        case.log.append(f"labels[{t}] = {value!r}")


def m_label_dtype(draw: st.DrawFn, case: Case) -> None:
    """Labels (one sentence's, or all) as a numpy array of some dtype."""
    dtype = draw(st.sampled_from(LABEL_DTYPES))
    try:
        if case.api == "list":
            choices = list(range(_len(case.labels))) if isinstance(case.labels, list) else []
            if not choices:
                return
            s = draw(st.sampled_from(choices))
            case.labels[s] = np.asarray(_as_list(case.labels[s])).astype(dtype)
            case.log.append(f"labels[{s}] as {dtype}")
        else:
            case.labels = np.asarray(_as_list(case.labels)).astype(dtype)
            case.log.append(f"labels as {dtype}")
    except (TypeError, ValueError, OverflowError):
        return


def m_labels_shape(draw: st.DrawFn, case: Case) -> None:
    """Labels of the wrong structure: 0-d, 2-d, junk in place of a sentence, tuples."""
    if case.api == "list":
        if not isinstance(case.labels, list) or not case.labels:
            return
        s = draw(st.integers(0, len(case.labels) - 1))
        how = draw(st.sampled_from(["junk", "2d", "0d", "tuple", "nested", "set"]))
        current = case.labels[s]
        if how == "junk":
            case.labels[s] = draw(st.sampled_from(JUNK_SENTENCE_LABELS))
        elif how == "2d":
            case.labels[s] = np.asarray(_as_list(current), dtype=np.int64)[:, None]
        elif how == "0d":
            case.labels[s] = np.array(_len(current))
        elif how == "tuple":
            case.labels[s] = tuple(_as_list(current))
        elif how == "nested":
            case.labels[s] = [[v] for v in _as_list(current)]
        else:
            case.labels[s] = set(_as_list(current))
        case.log.append(f"labels[{s}] made {how}: {case.labels[s]!r}"[:200])
    else:
        how = draw(st.sampled_from(["2d", "0d", "tuple", "nested", "junk"]))
        try:
            current = _as_list(case.labels)
        except TypeError:
            return
        if how == "2d":
            case.labels = np.asarray(current)[:, None]
        elif how == "0d":
            case.labels = np.array(len(current))
        elif how == "tuple":
            case.labels = tuple(current)
        elif how == "nested":
            case.labels = [[v] for v in current]
        else:
            case.labels = draw(st.sampled_from(JUNK_SENTENCE_LABELS))
        case.log.append(f"labels made {how}")


def m_length_mismatch(draw: st.DrawFn, case: Case) -> None:
    """A label dropped, added or moved (totals agree), or a sentence dropped or added."""
    how = draw(st.sampled_from(["drop", "add", "move", "drop_sentence", "add_sentence"]))
    if case.api != "list":
        try:
            labels = _as_list(case.labels)
        except TypeError:
            return
        if how in ("drop", "drop_sentence") and labels:
            labels.pop()
        elif how in ("add", "add_sentence"):
            labels.append(0)
        else:
            return
        case.labels = labels
        case.log.append(f"labels: {how} one")
        return
    if not isinstance(case.labels, list) or not isinstance(case.probs, list):
        return
    if how == "drop_sentence":
        side = draw(st.sampled_from(["labels", "probs"]))
        target = case.labels if side == "labels" else case.probs
        if target:
            target.pop(draw(st.integers(0, len(target) - 1)))
    elif how == "add_sentence":
        side = draw(st.sampled_from(["labels", "probs"]))
        (case.labels if side == "labels" else case.probs).append([])
    else:
        choices = _sentences_with_tokens(case)
        if not choices:
            return
        s = draw(st.sampled_from(choices))
        try:
            sentence = _as_list(case.labels[s])
        except TypeError:
            return
        if how == "drop":
            sentence.pop()
        elif how == "add":
            sentence.append(sentence[0])
        else:  # move a label to another sentence: the totals still agree
            if len(case.labels) < 2:
                return
            other = draw(st.sampled_from([i for i in range(len(case.labels)) if i != s]))
            try:
                case.labels[other] = [*_as_list(case.labels[other]), sentence.pop()]
            except TypeError:
                return
        case.labels[s] = sentence
    case.log.append(f"structure: {how}")


def m_prob_value(draw: st.DrawFn, case: Case) -> None:
    """A huge, negative, NaN or slightly out-of-range probability somewhere."""
    value = draw(st.sampled_from(JUNK_PROBS))
    if case.api == "list":
        if not isinstance(case.probs, list):
            return
        choices = [
            s
            for s, p in enumerate(case.probs)
            if isinstance(p, np.ndarray) and p.ndim == 2 and p.size and p.dtype.kind == "f"
        ]
        if not choices:
            return
        s = draw(st.sampled_from(choices))
        arr = case.probs[s].copy()
        i, c = draw(st.integers(0, arr.shape[0] - 1)), draw(st.integers(0, arr.shape[1] - 1))
        arr[i, c] = value
        case.probs[s] = arr
        case.log.append(f"pred_probs[{s}][{i}, {c}] = {arr[i, c]!r}")
    else:
        p = case.probs
        if not (isinstance(p, np.ndarray) and p.ndim == 2 and p.size and p.dtype.kind == "f"):
            return
        arr = p.copy()
        i, c = draw(st.integers(0, arr.shape[0] - 1)), draw(st.integers(0, arr.shape[1] - 1))
        arr[i, c] = value
        case.probs = arr
        case.log.append(f"pred_probs[{i}, {c}] = {arr[i, c]!r}")


def _restyle(draw: st.DrawFn, arr: Any) -> tuple[Any, str]:
    """One array in another dtype, layout or container (valid or not)."""
    how = draw(
        st.sampled_from(
            [
                "dtype",
                "list",
                "tuple",
                "fortran",
                "readonly",
                "bigendian",
                "strided",
                "1d",
                "3d",
                "0d",
                "junk",
                "ragged",
                "str_inside",
                "add_column",
                "drop_column",
                "drop_row",
                "empty",
            ]
        )
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = np.asarray(arr)
    except (TypeError, ValueError):
        return arr, "unchanged"
    if how == "dtype":
        dtype = draw(st.sampled_from(PROB_DTYPES))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return a.astype(dtype), f"dtype {dtype}"
    if how == "list":
        return a.tolist(), how
    if how == "tuple":
        return tuple(tuple(r) for r in a.tolist()) if a.ndim == 2 else tuple(a.tolist()), how
    if how == "fortran":
        return np.asfortranarray(a), how
    if how == "readonly":
        b = a.copy()
        b.setflags(write=False)
        return b, how
    if how == "bigendian":
        return a.astype(a.dtype.newbyteorder(">")), how
    if how == "strided" and a.ndim == 2:
        big = np.zeros((a.shape[0] * 2, a.shape[1] * 3), dtype=a.dtype)
        big[::2, ::3] = a
        return big[::2, ::3], how
    if how == "1d":
        return a.ravel(), how
    if how == "3d":
        return a[None], how
    if how == "0d":
        return np.array(0.5, dtype=a.dtype), how
    if how == "junk":
        return draw(st.sampled_from([None, "abc", 3, 1.5, {}, b"x", Weird()])), how
    if how == "ragged" and a.ndim == 2 and a.shape[0]:
        rows = a.tolist()
        rows[0] = rows[0][:-1]
        return rows, how
    if how == "str_inside" and a.ndim == 2 and a.size:
        rows = a.tolist()
        rows[0][0] = draw(st.sampled_from(["abc", "0.5", None, True]))
        return rows, how
    if how == "add_column" and a.ndim == 2:
        return np.concatenate([a, a[:, :1]], axis=1), how
    if how == "drop_column" and a.ndim == 2:
        return a[:, :-1], how
    if how == "drop_row" and a.ndim >= 1 and a.shape[0]:
        return a[:-1], how
    if how == "empty" and a.ndim == 2:
        return a[:0], how
    return arr, "unchanged"


def m_prob_style(draw: st.DrawFn, case: Case) -> None:
    if case.api == "list":
        if not isinstance(case.probs, list) or not case.probs:
            return
        s = draw(st.integers(0, len(case.probs) - 1))
        case.probs[s], how = _restyle(draw, case.probs[s])
        case.log.append(f"pred_probs[{s}]: {how}")
    else:
        case.probs, how = _restyle(draw, case.probs)
        case.log.append(f"pred_probs: {how}")


def m_mixed_dtypes(draw: st.DrawFn, case: Case) -> None:
    """Valid: each sentence float32 or float64 at random, some empty sentences added."""
    if case.api != "list" or not isinstance(case.probs, list):
        return
    for s, p in enumerate(case.probs):
        if isinstance(p, np.ndarray) and p.dtype.kind == "f":
            case.probs[s] = p.astype(draw(st.sampled_from(["float32", "float64"])))
    if isinstance(case.labels, list) and draw(st.booleans()):
        at = draw(st.integers(0, len(case.labels)))
        width = draw(st.integers(0, 5))
        case.labels.insert(at, draw(st.sampled_from([[], (), np.zeros(0, dtype=np.int8)])))
        case.probs.insert(at, np.zeros((0, width), dtype=draw(st.sampled_from(["f4", "f8"]))))
        case.log.append(f"empty sentence at {at} with {width} columns")
    case.log.append("mixed float32/float64")


def m_one_class(draw: st.DrawFn, case: Case) -> None:
    """Every label the same class (Python ints or numpy ints)."""
    c = draw(st.sampled_from([0, 1]))
    as_numpy = draw(st.booleans())
    try:
        if case.api == "list":
            case.labels = [
                np.full(_len(x), c, dtype=np.int64) if as_numpy else [c] * _len(x)
                for x in case.labels
            ]
        else:
            n = _len(case.labels)
            case.labels = np.full(n, c, dtype=np.int64) if as_numpy else [c] * n
    except TypeError:
        return
    case.log.append(f"all labels {c} ({'numpy' if as_numpy else 'python'})")


def m_empty(draw: st.DrawFn, case: Case) -> None:
    """Empty everything: no sentence, or only empty sentences."""
    how = draw(st.sampled_from(["nothing", "empty_sentences", "containers"]))
    if case.api == "list":
        if how == "nothing":
            case.labels, case.probs = [], []
        elif how == "empty_sentences":
            n = draw(st.integers(1, 3))
            case.labels = [[] for _ in range(n)]
            case.probs = [np.zeros((0, 3)) for _ in range(n)]
        else:
            case.labels = draw(st.sampled_from([None, "", (), 0, np.zeros(0), {}]))
            case.probs = draw(st.sampled_from([None, [], np.zeros((0, 3)), "x"]))
    else:
        k = (
            case.probs.shape[1]
            if isinstance(case.probs, np.ndarray) and case.probs.ndim == 2
            else 3
        )
        case.labels = draw(st.sampled_from([np.zeros(0, dtype=np.int64), [], np.zeros(0)]))
        case.probs = draw(st.sampled_from([np.zeros((0, k)), [], np.zeros(0)]))
        case.lengths = draw(st.sampled_from([[], [0], [0, 0], np.zeros(0, dtype=np.int64)]))
    case.log.append(f"empty: {how}")


def m_containers(draw: st.DrawFn, case: Case) -> None:
    """labels or pred_probs replaced wholesale (junk, tuples)."""
    side = draw(st.sampled_from(["labels", "probs"]))
    how = draw(st.sampled_from(["tuple", "junk"]))
    current = getattr(case, side)
    if how == "tuple" and isinstance(current, list):
        setattr(case, side, tuple(current))
    else:
        setattr(case, side, draw(st.sampled_from([None, "abc", 7, 2.5, b"x", Weird()])))
    case.log.append(f"{side}: {how}")


def m_lengths(draw: st.DrawFn, case: Case) -> None:
    """Flat API: bad sentence lengths."""
    if case.api != "flat":
        return
    n = _len(case.labels)
    case.lengths = draw(
        st.sampled_from(
            [
                [-1, n + 1],
                [n + 1],
                [max(n - 1, 0)],
                [],
                [2**62] * 4,
                [2**63 - 1, 2],
                np.array([n], dtype=np.uint64),
                np.array([2**64 - 1], dtype=np.uint64),
                np.array([n], dtype=np.int8) if n < 128 else np.array([n]),
                [float(n)],
                [n / 2, n / 2],
                [True] * n,
                None,
                "x",
                np.array([[n]]),
                [n, 0, 0],
                (0, n),
                [2**70, -(2**70) + n],
            ]
        )
    )
    case.log.append(f"lengths = {case.lengths!r}"[:200])


def m_kwarg(draw: st.DrawFn, case: Case) -> None:
    """A junk (or valid but unusual) keyword value."""
    k = _k(case)
    name = draw(
        st.sampled_from(
            [*JUNK_KWARGS, "num_to_remove_per_class", "confident_joint", "unknown", "unknown"]
        )
    )
    if name == "num_to_remove_per_class":
        case.kwargs[name] = draw(junk_removals(k))
        if draw(st.booleans()):
            case.kwargs["filter_by"] = draw(st.sampled_from(PRUNE_FILTERS))
    elif name == "confident_joint":
        case.kwargs[name] = draw(junk_joint(k))
        if draw(st.booleans()):
            case.kwargs["filter_by"] = draw(st.sampled_from(PRUNE_FILTERS))
    elif name == "unknown":
        case.kwargs.update(draw(st.sampled_from(UNKNOWN_KWARGS)))
    else:
        case.kwargs[name] = draw(st.sampled_from(JUNK_KWARGS[name]))
    case.log.append(f"kwargs {case.kwargs!r}"[:300])


def _k(case: Case) -> int:
    p = case.probs
    if isinstance(p, np.ndarray) and p.ndim == 2:
        return int(p.shape[1])
    if isinstance(p, list):
        for x in p:
            if isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[0]:
                return int(x.shape[1])
    return 3


DATA_MUTATIONS: list[Mutation] = [
    m_junk_label,
    m_label_dtype,
    m_labels_shape,
    m_length_mismatch,
    m_prob_value,
    m_prob_style,
    m_mixed_dtypes,
    m_one_class,
    m_empty,
    m_containers,
    m_lengths,
]
ALL_MUTATIONS: list[Mutation] = [*DATA_MUTATIONS, m_kwarg, m_kwarg]


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

SMALL = {"max_classes": 6, "max_sentences": 6, "max_len": 7}
RAGGED = ragged_datasets(**SMALL)
FLAT = flat_datasets(**SMALL)


@functools.cache
def _kwargs_strategy(k: int, api: str) -> st.SearchStrategy[dict[str, Any]]:
    # Cached: building the strategy parses source code (hypothesis' @composite), slowly.
    return kwargs_strategy(k, allow_low_memory=api != "mc", allow_none_ranking=True)


def _valid_kwargs(draw: st.DrawFn, k: int, api: str) -> dict[str, Any]:
    kwargs = dict(draw(_kwargs_strategy(k, api)))
    if api == "mc" and "return_indices_ranked_by" in kwargs and draw(st.booleans()):
        del kwargs["return_indices_ranked_by"]  # the multi-class default: a boolean mask
    if draw(st.integers(0, 3)) == 0:
        kwargs["n_jobs"] = draw(st.sampled_from([1, 2, 3]))
    return kwargs


@st.composite
def cases(
    draw: st.DrawFn,
    api: str,
    mutations: list[Mutation],
    *,
    min_mutations: int = 0,
    max_mutations: int = 3,
) -> Case:
    if api == "list":
        labels, probs = draw(RAGGED)
        case = Case(api, list(labels), list(probs))
        k = probs[0].shape[1]
    else:
        labels, probs = draw(FLAT)
        k = probs.shape[1]
        lengths: list[int] = []
        left = labels.shape[0]
        while left:
            n = draw(st.integers(1, min(left, 6)))
            lengths.append(n)
            left -= n
        for _ in range(draw(st.integers(0, 2))):  # some empty sentences
            lengths.insert(draw(st.integers(0, len(lengths))), 0)
        case = Case(api, labels if draw(st.booleans()) else labels.tolist(), probs, lengths=lengths)
    case.kwargs = _valid_kwargs(draw, k, api)
    n = draw(st.integers(min_mutations, max_mutations))
    for _ in range(n):
        mutation = draw(st.sampled_from(mutations))
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                mutation(draw, case)
        except (TypeError, ValueError, OverflowError, IndexError) as e:
            # the data is already too broken for this mutation; keep what it did
            case.log.append(f"{mutation.__name__} stopped: {e!r}"[:200])
    return case


# ---------------------------------------------------------------------------
# the fuzz tests
# ---------------------------------------------------------------------------

LABEL_MUTATIONS = [m_junk_label, m_label_dtype, m_labels_shape, m_one_class]
PROB_MUTATIONS = [m_prob_value, m_prob_style, m_mixed_dtypes]
STRUCTURE_MUTATIONS = [m_length_mismatch, m_empty, m_containers, m_lengths]


@pytest.mark.parametrize("api", ["list", "flat", "mc"])
@given(data=st.data())
def test_fuzz_labels(api: str, data: st.DataObject) -> None:
    check(data.draw(cases(api, LABEL_MUTATIONS, min_mutations=1, max_mutations=2)))


@pytest.mark.parametrize("api", ["list", "flat", "mc"])
@given(data=st.data())
def test_fuzz_probabilities(api: str, data: st.DataObject) -> None:
    check(data.draw(cases(api, PROB_MUTATIONS, min_mutations=1, max_mutations=2)))


@pytest.mark.parametrize("api", ["list", "flat", "mc"])
@given(data=st.data())
def test_fuzz_structure(api: str, data: st.DataObject) -> None:
    check(data.draw(cases(api, STRUCTURE_MUTATIONS, min_mutations=1, max_mutations=2)))


@pytest.mark.parametrize("api", ["list", "flat", "mc"])
@given(data=st.data())
def test_fuzz_keywords(api: str, data: st.DataObject) -> None:
    check(data.draw(cases(api, [m_kwarg], min_mutations=1, max_mutations=3)))


@pytest.mark.parametrize("api", ["list", "flat", "mc"])
@given(data=st.data())
def test_fuzz_combined(api: str, data: st.DataObject) -> None:
    check(data.draw(cases(api, ALL_MUTATIONS, min_mutations=0, max_mutations=4)))


# ---------------------------------------------------------------------------
# a deterministic catalogue: every listed junk value once per API, whatever hypothesis draws
# ---------------------------------------------------------------------------


def _base(api: str) -> Case:
    rng = np.random.default_rng(6)
    k, lengths = 3, [4, 0, 5, 3, 6]
    n = sum(lengths)
    true = rng.integers(0, k, n)
    probs = rng.dirichlet(np.full(k, 0.5), n)
    probs[np.arange(n), true] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.3
    labels[flip] = (labels[flip] + 1) % k
    if api == "list":
        starts = np.concatenate([[0], np.cumsum(lengths)])
        return Case(
            api,
            [labels[a:b].tolist() for a, b in itertools.pairwise(starts)],
            [probs[a:b] for a, b in itertools.pairwise(starts)],
        )
    return Case(api, labels, probs, lengths=list(lengths))


APIS = ["list", "flat", "mc"]


def _with(case: Case, edit: Callable[[Case], None], log: str) -> Case:
    edit(case)
    case.log.append(log)
    return case


def test_the_catalogue_base_has_issues() -> None:
    for api in APIS:
        case = _base(api)
        case.kwargs = {"return_indices_ranked_by": "self_confidence"}
        assert check(case) == "returned"
        assert len(_call(case)) > 0, api


@pytest.mark.parametrize("api", APIS)
def test_catalogue_junk_labels(api: str) -> None:
    for value in JUNK_LABELS:
        for position in (0, 7):

            def edit(c: Case, value: Any = value, position: int = position) -> None:
                if c.api == "list":
                    s, t = (0, position) if position < 4 else (2, position - 4)
                    c.labels[s] = list(c.labels[s])
                    c.labels[s][t] = value
                else:
                    c.labels = c.labels.tolist()
                    c.labels[position] = value

            check(_with(_base(api), edit, f"label {position} = {value!r}"))


@pytest.mark.parametrize("api", APIS)
def test_catalogue_label_dtypes_and_shapes(api: str) -> None:
    for dtype in LABEL_DTYPES:

        def edit(c: Case, dtype: Any = dtype) -> None:
            if c.api == "list":
                c.labels[2] = np.asarray(c.labels[2]).astype(dtype)
            else:
                c.labels = np.asarray(c.labels).astype(dtype)

        check(_with(_base(api), edit, f"labels as {dtype}"))
    for junk in [*JUNK_SENTENCE_LABELS, "2d", "0d"]:

        def edit2(c: Case, junk: Any = junk) -> None:
            target = c.labels[2] if c.api == "list" else c.labels
            if isinstance(junk, str) and junk == "2d":
                new: Any = np.asarray(target)[:, None]
            elif isinstance(junk, str) and junk == "0d":
                new = np.array(1)
            else:
                new = junk
            if c.api == "list":
                c.labels[2] = new
            else:
                c.labels = new

        check(_with(_base(api), edit2, f"labels: {junk!r}"))


@pytest.mark.parametrize("api", APIS)
def test_catalogue_probability_values(api: str) -> None:
    for value in JUNK_PROBS:
        for dtype in ("float32", "float64"):

            def edit(c: Case, value: float = value, dtype: str = dtype) -> None:
                with np.errstate(over="ignore"):  # 1e308 becomes inf in float32
                    if c.api == "list":
                        c.probs = [p.astype(dtype) for p in c.probs]
                        c.probs[3][1, 2] = value
                    else:
                        c.probs = c.probs.astype(dtype)
                        c.probs[10, 2] = value

            check(_with(_base(api), edit, f"probability {value!r} ({dtype})"))


@pytest.mark.parametrize("api", APIS)
def test_catalogue_probability_dtypes_and_containers(api: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        styles: list[tuple[str, Callable[[np.ndarray], Any]]] = [
            (f"dtype {d}", lambda a, d=d: a.astype(d)) for d in PROB_DTYPES
        ]
    styles += [
        ("int probabilities", lambda a: (a > 0.5).astype(np.int64)),
        ("object floats", lambda a: a.astype(object)),
        ("list", lambda a: a.tolist()),
        ("tuple", lambda a: tuple(map(tuple, a.tolist()))),
        ("fortran", np.asfortranarray),
        ("bigendian f4", lambda a: a.astype(">f4")),
        ("transposed twice", lambda a: a.T.copy().T),
        ("reversed rows", lambda a: a[::-1]),
        ("1d", np.ravel),
        ("3d", lambda a: a[None]),
        ("3d rows", lambda a: a[:, :, None]),
        ("0d", lambda a: np.array(0.5)),
        ("None", lambda a: None),
        ("str", lambda a: "abc"),
        ("int", lambda a: 3),
        ("dict", lambda a: {}),
        ("ragged list", lambda a: [r[: 1 + (i % 2)] for i, r in enumerate(a.tolist())]),
        ("list with str", lambda a: [["x", *r[1:]] for r in a.tolist()]),
        ("list with numeric str", lambda a: [["0.5", *r[1:]] for r in a.tolist()]),
        ("list with None", lambda a: [[None, *r[1:]] for r in a.tolist()]),
        ("extra column", lambda a: np.concatenate([a, a[:, :1]], axis=1)),
        ("no columns", lambda a: a[:, :0]),
        ("missing row", lambda a: a[:-1]),
        ("no rows", lambda a: a[:0]),
    ]
    for name, style in styles:

        def edit(c: Case, style: Callable[[np.ndarray], Any] = style) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if c.api == "list":
                    c.probs[3] = style(c.probs[3])
                else:
                    c.probs = style(c.probs)

        check(_with(_base(api), edit, f"pred_probs: {name}"))


@pytest.mark.parametrize("api", APIS)
def test_catalogue_keywords(api: str) -> None:
    extra: dict[str, list[Any]] = {
        "num_to_remove_per_class": [
            [1, 1],
            [1, 1, 1, 1],
            [-1, -1, -1],
            [2**62] * 3,
            [2**63 - 1] * 3,
            [-(2**63)] * 3,
            [2**64] * 3,
            ["1"] * 3,
            [1.5] * 3,
            None,
            "abc",
            5,
            np.array([1, 2, 3]),
            [[1]] * 3,
        ],
        "confident_joint": [
            np.ones((2, 2)),
            np.ones((3, 4)),
            np.ones(3),
            np.ones((3, 3, 1)),
            np.full((3, 3), np.nan),
            np.full((3, 3), np.inf),
            np.arange(9).reshape(3, 3),
            np.asfortranarray(np.arange(9.0).reshape(3, 3)),
            np.full((3, 3), "a"),
            [[1, 2, 3]] * 3,
            -np.ones((3, 3)),
            np.full((3, 3), 1e308),
            np.ones((3, 3), dtype=object),
            "cj",
        ],
    }
    for name, values in [*JUNK_KWARGS.items(), *extra.items()]:
        for value in values:
            for filter_by in ("prune_by_noise_rate", "both", "confident_learning"):
                kwargs = {name: value}
                if name != "filter_by":
                    kwargs["filter_by"] = filter_by
                elif filter_by != "prune_by_noise_rate":
                    continue
                case = _base(api)
                case.kwargs = kwargs
                case.log.append(f"kwargs {kwargs!r}"[:200])
                check(case)
    for unknown in UNKNOWN_KWARGS:
        case = _base(api)
        case.kwargs = dict(unknown)
        case.log.append(f"kwargs {unknown!r}")
        assert check(case) == "raised"


def test_catalogue_flat_lengths() -> None:
    for lengths in [
        [-1, 19],
        [19],
        [17],
        [],
        [2**62] * 4,
        [2**63 - 1, 2],
        np.array([18], dtype=np.uint64),
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([18], dtype=np.int8),
        [18.0],
        [9.0, 9.0],
        [True] * 18,
        None,
        "x",
        np.array([[18]]),
        [18, 0, 0],
        (0, 18),
        [2**70, 18 - 2**70],
    ]:
        case = _base("flat")
        case.lengths = lengths
        case.log.append(f"lengths = {lengths!r}")
        check(case)


@pytest.mark.parametrize("api", APIS)
def test_catalogue_empty(api: str) -> None:
    empties: list[tuple[Any, Any, Any]]
    if api == "list":
        empties = [
            ([], [], None),
            ([[]], [np.zeros((0, 3))], None),
            ([[], []], [np.zeros((0, 3)), np.zeros((0, 2))], None),
            ([()], [np.zeros((0, 3))], None),
            ([np.zeros(0, dtype=np.int64)], [np.zeros((0, 3))], None),
            ([[]], [[]], None),
            ((), (), None),
        ]
    else:
        empties = [
            (np.zeros(0, dtype=np.int64), np.zeros((0, 3)), []),
            ([], np.zeros((0, 3)), [0]),
            (np.zeros(0), np.zeros((0, 3)), [0, 0]),
            ([], [], []),
            (np.zeros(0, dtype=np.int64), np.zeros((0, 0)), []),
        ]
    for labels, probs, lengths in empties:
        case = Case(api, labels, probs, lengths=lengths, log=[f"empty {labels!r} {probs!r}"])
        assert check(case) == "raised"


@pytest.mark.parametrize(
    "empty_labels",
    [[], (), np.zeros(0, dtype=np.int8), np.zeros(0, dtype=object), np.array([])],
    ids=["list", "tuple", "int8", "object", "float64"],
)
def test_catalogue_empty_sentence_variants(empty_labels: Any) -> None:
    """An empty sentence inserted into valid data: the labels may be any empty sequence
    (``np.array([])`` is float64, numpy's default); the probabilities any empty 2-D array
    (other widths and dtypes included), and nothing that is not an array."""
    for empty_probs in [
        np.zeros((0, 3)),
        np.zeros((0, 0)),
        np.zeros((0, 7), dtype=np.float32),
        [],
        np.zeros(0),
        np.zeros((0, 3, 2)),
        np.array(0.5),
        None,
        "x",
    ]:
        case = _base("list")
        case.labels.insert(2, empty_labels)
        case.probs.insert(2, empty_probs)
        case.log.append(f"empty sentence: labels {empty_labels!r}, pred_probs {empty_probs!r}")
        check(case)

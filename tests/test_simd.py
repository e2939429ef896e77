"""The AVX2 build of the kernels (src/simd.rs) gives the baseline build's answers, bit for bit.

The engine picks the AVX2 build at run time when the CPU has it; ``TOKENCLEAN_SIMD=baseline``
forces the baseline one. A fresh interpreter with that setting must return exactly what this
process returns, for every filter and ranking, both dtypes, and K on both sides of 64 (the
row kernels change there).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import FILTER_BY, RANKINGS, sentence_dataset
from tokenclean import _core
from tokenclean.token_classification.filter import find_label_issues_flat


def _has_avx2() -> bool:
    try:
        return " avx2 " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _has_avx2(), reason="the CPU has no AVX2: one build only")

ORDERS = (None, *RANKINGS)
# K=5 float32 is below one AVX2 register and K=37 float64 above two (the portable kernels,
# recompiled for AVX2 or not); 12 float32 and 7 float64 use the AVX2 intrinsics row kernels;
# 70 is past the 64 classes of the bit-mask kernels.
CASES = [
    (5, "float32", 1),
    (12, "float32", 4),
    (7, "float64", 5),
    (37, "float64", 2),
    (70, "float32", 3),
]

_CHILD = textwrap.dedent(
    """
    import pickle, sys
    from conftest import sentence_dataset
    from tokenclean import _core
    from tokenclean.token_classification.filter import find_label_issues_flat
    cases, filters, orders, out = pickle.loads(bytes.fromhex(sys.argv[1]))
    answers = {"kernels": _core.kernels()}
    for k, dtype, seed in cases:
        labels, pred, lengths = sentence_dataset(70_000, k, dtype, seed)
        for f in filters:
            for r in orders:
                answers[(k, f, r)] = find_label_issues_flat(
                    labels, pred, lengths, filter_by=f, return_indices_ranked_by=r
                ).tolist()
    with open(out, "wb") as fh:
        pickle.dump(answers, fh)
    """
)


def test_baseline_build_gives_the_same_answers(tmp_path: Path) -> None:
    out = tmp_path / "baseline.pkl"
    arg = pickle.dumps((CASES, FILTER_BY, ORDERS, str(out))).hex()
    env = {**os.environ, "TOKENCLEAN_SIMD": "baseline"}
    subprocess.run(
        [sys.executable, "-c", _CHILD, arg],
        env=env,
        cwd=Path(__file__).parent,
        check=True,
        timeout=600,
    )
    with open(out, "rb") as fh:
        baseline: dict[Any, Any] = pickle.load(fh)
    assert baseline["kernels"] == "baseline"
    assert _core.kernels() == "avx2"
    compared = 0
    for k, dtype, seed in CASES:
        labels, pred, lengths = sentence_dataset(70_000, k, dtype, seed)
        for f in FILTER_BY:
            for r in ORDERS:
                ours = find_label_issues_flat(
                    labels, pred, lengths, filter_by=f, return_indices_ranked_by=r
                ).tolist()
                assert ours == baseline[(k, f, r)], (k, dtype, f, r)
                compared += len(ours)
    assert compared > 10_000  # real selections, not empty lists

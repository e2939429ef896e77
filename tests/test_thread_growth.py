"""Regression test: repeated calls do not keep adding threads to the process.

Each call may start worker threads (a pool per size is kept for reuse); once every size used has
been seen, calling again must reuse them, whatever the mix of ``n_jobs`` and entry points.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import tokenclean
from tokenclean import _core

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts threads in /proc/self/status"
)


def _threads() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def test_repeated_calls_reuse_their_threads() -> None:
    rng = np.random.default_rng(3)
    n, k = 70_000, 4  # above the core's serial threshold, so pools really start
    p = rng.dirichlet(np.ones(k), size=n)
    labels = rng.integers(0, k, n)
    lengths = np.full(n // 10, 10, np.int64)

    def round_of_calls() -> None:
        for n_jobs in (None, 1, 2, 3):
            _core.find_label_issues_flat(labels, p, lengths, n_jobs=n_jobs)
            _core.label_quality_scores(labels, p, "self_confidence", n_jobs=n_jobs)
        tokenclean.find_label_issues([labels[:50].tolist()], [p[:50]])

    round_of_calls()
    warm = _threads()
    for _ in range(5):
        round_of_calls()
    assert _threads() <= warm, f"threads grew from {warm} to {_threads()}"

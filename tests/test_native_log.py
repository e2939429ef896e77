"""``confidence_weighted_entropy`` with numpy's own dispatch, as users run it.

The rest of the suite limits numpy to AVX2 (``conftest.py``), where numpy's float64 ``log`` is
the C library's, so that the scores compare exactly. Without that limit, numpy's AVX-512 ``log``
can differ from the C library's ``ln`` (which the engine calls) by an ulp. This test runs in a
fresh interpreter without the limit and checks what users get: scores within a few ulp of
cleanlab's, and the same issues in the same order up to such near-ties.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tokenclean

pytest.importorskip("cleanlab")

SCRIPT = r"""
import json
import numpy as np
from cleanlab.filter import find_label_issues as theirs_issues
from cleanlab.rank import get_confidence_weighted_entropy_for_each_label as theirs
from tokenclean.filter import find_label_issues as ours_issues
from tokenclean.rank import get_confidence_weighted_entropy_for_each_label as ours

out = {}
rng = np.random.default_rng(20261206)
for dtype in ("float64", "float32"):
    p = rng.dirichlet(np.full(9, 0.3), size=100_000).astype(dtype)
    labels = rng.integers(0, 9, len(p))
    a, b = ours(labels, p), theirs(labels, p)
    ulp = np.abs(a - b) / np.spacing(np.maximum(np.abs(a), np.abs(b)))
    kw = dict(return_indices_ranked_by="confidence_weighted_entropy")
    mine, cl = ours_issues(labels, p, **kw), theirs_issues(labels, p, **kw)
    # cleanlab's scores read in our order: ascending, up to near-ties of a few ulp
    seen = b[mine]
    drops = np.diff(seen) / np.spacing(np.abs(seen[1:]))
    out[dtype] = {
        "differ": int((a != b).sum()),
        "max_ulp": float(ulp.max()),
        "same_set": sorted(mine.tolist()) == sorted(cl.tolist()),
        "worst_drop_ulp": float(-drops.min()) if len(drops) else 0.0,
        "issues": len(mine),
    }
print(json.dumps(out))
"""


def test_entropy_scores_and_ranks_with_numpys_own_dispatch() -> None:
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    python_dir = str(Path(tokenclean.__file__).resolve().parents[1])  # the build under test
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [python_dir, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)
    for dtype, r in out.items():
        assert r["max_ulp"] <= 8, (dtype, r)
        assert r["same_set"], (dtype, r)
        assert r["issues"] > 100, (dtype, r)
        assert r["worst_drop_ulp"] <= 8, (dtype, r)

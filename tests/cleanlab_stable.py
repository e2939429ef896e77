"""Make cleanlab deterministic for the differential tests (SPEC section 1).

cleanlab sorts with numpy's default ``argsort``, whose order of tied values
depends on the SIMD code numpy picks for the CPU. The project's reference is
"cleanlab 2.9.0 with every sort stable". :func:`stable_cleanlab` produces
that function inside the test process without touching numpy itself:

* every loaded ``cleanlab.*`` module whose global ``np`` is numpy gets a
  stand-in module object that forwards every attribute to numpy, except
  ``argsort``, which always sorts with ``kind="stable"``;
* ``cleanlab.rank.find_top_issues`` (which calls ``ndarray.argsort``, out of
  reach of the stand-in) is replaced by a stable equivalent, both in
  ``cleanlab.rank`` and where ``cleanlab.experimental.label_issues_batched``
  imported it by name.

``numpy.argsort`` itself is never patched, so unstable sorts in tokenclean's
own Python code still show up as failures.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import numpy

# Modules on the paths the tests exercise; imported eagerly so they get patched.
CLEANLAB_MODULES = (
    "cleanlab.internal.constants",
    "cleanlab.internal.util",
    "cleanlab.internal.validation",
    "cleanlab.internal.label_quality_utils",
    "cleanlab.internal.token_classification_utils",
    "cleanlab.internal.multilabel_scorer",
    "cleanlab.count",
    "cleanlab.rank",
    "cleanlab.filter",
    "cleanlab.experimental.label_issues_batched",
    "cleanlab.token_classification.filter",
    "cleanlab.token_classification.rank",
    "cleanlab.token_classification.summary",
)


def _stable_argsort(a: Any, axis: int | None = -1, kind: str | None = None, **kw: Any) -> Any:
    """``numpy.argsort`` with the sort kind forced to ``"stable"``."""
    del kind
    return numpy.argsort(a, axis=axis, kind="stable", **kw)


class StableNumpy(types.ModuleType):
    """A module object that behaves like numpy, with a stable ``argsort``."""

    argsort = staticmethod(_stable_argsort)

    def __init__(self) -> None:
        super().__init__("numpy", numpy.__doc__)

    def __getattr__(self, name: str) -> Any:
        return getattr(numpy, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(numpy)) | {"argsort"})


STABLE_NUMPY = StableNumpy()


def _stable_find_top_issues(quality_scores: Any, *, top: int | None = 10) -> Any:
    """Indices of the ``top`` lowest scores, ties in position order."""
    scores = numpy.asarray(quality_scores)
    if top is None or top > len(scores):
        top = len(scores)
    return numpy.argsort(scores, kind="stable")[:top]


def _patch_loaded_modules() -> list[str]:
    patched = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "cleanlab" or name.startswith("cleanlab.")):
            continue
        if getattr(module, "np", None) is numpy:
            module.np = STABLE_NUMPY  # type: ignore[attr-defined]
            patched.append(name)
    return patched


def stable_cleanlab() -> types.ModuleType:
    """Patch cleanlab for stable sorting (idempotent) and return its token filter module."""
    for name in CLEANLAB_MODULES:
        importlib.import_module(name)
    _patch_loaded_modules()

    rank = sys.modules["cleanlab.rank"]
    batched = sys.modules["cleanlab.experimental.label_issues_batched"]
    rank.find_top_issues = _stable_find_top_issues  # type: ignore[attr-defined]
    batched.find_top_issues = _stable_find_top_issues  # type: ignore[attr-defined]
    return sys.modules["cleanlab.token_classification.filter"]


def is_patched() -> bool:
    """True when the main cleanlab modules use the stable stand-in."""
    names = ("cleanlab.filter", "cleanlab.count", "cleanlab.rank", "cleanlab.internal.util")
    return all(getattr(sys.modules.get(n), "np", None) is STABLE_NUMPY for n in names)

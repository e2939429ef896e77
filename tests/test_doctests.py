"""The examples in the docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "tokenclean.token_classification.filter",
    "tokenclean.filter",
    "tokenclean.datasets",
    "tokenclean.count",
    "tokenclean.rank",
    "tokenclean.token_classification.rank",
    "tokenclean.token_classification.summary",
    "tokenclean.dask",
    "tokenclean.models",
    "tokenclean.detect",
    "tokenclean.align",
    "tokenclean.corrections",
    "tokenclean.labelstudio",
    "tokenclean.review",
    "tokenclean.ngrams",
    "tokenclean.evaluate",
    "tokenclean.errors",
    "tokenclean.testing",
    "tokenclean.spans",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0

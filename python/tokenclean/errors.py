"""Exceptions that keep code written against cleanlab working.

cleanlab 2.9.0 checks a few option values with ``assert`` statements, so a bad value reaches
its caller as an ``AssertionError``: an unknown ``sentence_score_method`` in
``token_classification.rank.get_label_quality_scores``, an unknown ``filter_by`` and an
``n_jobs`` below 1 in ``filter.find_label_issues`` (and so in the token-level function, except
with ``low_memory=True``, where cleanlab ignores both). tokenclean reports these as ordinary
``ValueError``/``TypeError`` with a message saying what is allowed, raised as the classes
below, which also derive from ``AssertionError``: ``except ValueError`` and
``except AssertionError`` both catch them.

Examples
--------
>>> import numpy as np
>>> from tokenclean.errors import InvalidOptionError
>>> from tokenclean.token_classification.rank import get_label_quality_scores
>>> try:
...     get_label_quality_scores([[0, 1]], [np.eye(2)], sentence_score_method="max")
... except AssertionError as err:  # what cleanlab raises
...     print(type(err).__name__, isinstance(err, ValueError))
...     print(err)
InvalidOptionError True
sentence_score_method='max' is not supported. Select from the following methods: min, softmin
"""

from __future__ import annotations

__all__ = ["InvalidOptionError", "InvalidOptionTypeError"]


class InvalidOptionError(ValueError, AssertionError):
    """An option (keyword argument) has a value the function does not accept.

    A ``ValueError``, and also an ``AssertionError`` because cleanlab raises one for the same
    mistake.
    """


class InvalidOptionTypeError(InvalidOptionError, TypeError):
    """An option where cleanlab asserts has a value of the wrong type (``filter_by=None``).

    A ``TypeError`` as tokenclean reports wrong types, and an :class:`InvalidOptionError`
    (so also an ``AssertionError``, as in cleanlab).
    """

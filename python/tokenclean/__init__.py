"""tokenclean: find mislabeled tokens in token-classification datasets.

Confident learning with cleanlab 2.9.0's answers, computed by a Rust engine. Switching from
cleanlab is a change of import::

    from tokenclean.token_classification.filter import find_label_issues
"""

from tokenclean import count, filter, rank, token_classification
from tokenclean._core import __version__
from tokenclean.token_classification.filter import find_label_issues, find_label_issues_flat

__all__ = [
    "__version__",
    "count",
    "filter",
    "find_label_issues",
    "find_label_issues_flat",
    "rank",
    "token_classification",
]

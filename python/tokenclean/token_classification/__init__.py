"""Token classification (NER, POS tagging, chunking): mirrors ``cleanlab.token_classification``."""

from tokenclean.token_classification import filter

__all__ = ["filter"]

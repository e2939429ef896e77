"""Token classification (NER, POS tagging, chunking): mirrors ``cleanlab.token_classification``."""

from tokenclean.token_classification import filter, rank, summary

__all__ = ["filter", "rank", "summary"]

"""Show and summarise token label issues: mirrors ``cleanlab.token_classification.summary``.

:func:`display_issues` prints each issue in its sentence, :func:`common_label_issues` counts the
words that are most often flagged, :func:`filter_by_token` keeps the issues of one word. The
printed text and the returned values are cleanlab 2.9.0's (ties in position order).
:func:`common_label_issues` returns a pandas DataFrame and so needs pandas
(``pip install 'tokenclean[pandas]'``); the other two do not.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenclean._pandas import require_pandas

__all__ = ["common_label_issues", "display_issues", "filter_by_token"]

_RED = "\x1b[31m"
_RESET = "\x1b[0m"
_RULE = "-" * 87
_NO_CLASS_NAMES = (
    "Classes will be printed in terms of their integer index since `class_names` was not provided."
)
_NAMES_HINT = "Specify this argument to see the string names of each class."


def _given(value: object) -> bool:
    """Whether an optional sequence argument was supplied and is non-empty."""
    if value is None:
        return False
    try:
        return len(value) > 0  # type: ignore[arg-type]
    except TypeError:
        return bool(value)


def _sentence_text(words: Sequence[str]) -> str:
    """The words joined into readable text: no space before punctuation marks (other than
    ``-`` and ``(``), none after ``(`` and none before an apostrophe."""
    text = "".join(
        word if (word in string.punctuation and word not in ("-", "(")) else " " + word
        for word in words
    )
    return text.replace(" '", "'").replace("( ", "(").strip()


def _highlight(sentence: str, word: str) -> str:
    """``sentence`` with every whole-word occurrence of ``word`` in red (ANSI escapes), or
    every occurrence at all when it never appears as a whole word.

    The word is inserted literally (cleanlab passes it to ``re`` as a replacement template,
    which fails or alters words that contain a backslash).
    """
    marked = f"{_RED}{word}{_RESET}"
    pattern = r"\b" + re.escape(word) + r"\b"
    highlighted, found = re.subn(pattern, lambda _: marked, sentence)
    if not found:
        highlighted = sentence.replace(word, marked)
    return highlighted


def _as_issue_list(issues: Any) -> list[Any]:
    """Issues as a list; an ``(M, 2)`` array (``find_label_issues_flat``) becomes tuples."""
    if isinstance(issues, np.ndarray) and issues.ndim == 2:
        return [tuple(pair) for pair in issues.tolist()]
    return list(issues)


def _most_frequent_first(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Indices by decreasing value; among equal values the later index comes first."""
    return np.argsort(np.asarray(values), kind="stable")[::-1]


def _predicted_class(row: Any) -> Any:
    return np.asarray(row).argmax()


def display_issues(
    issues: Sequence[Any] | np.ndarray,
    tokens: Sequence[Sequence[str]],
    *,
    labels: Sequence[Sequence[int]] | None = None,
    pred_probs: Sequence[Any] | None = None,
    exclude: Sequence[tuple[int, int]] = [],  # never mutated; cleanlab's default
    class_names: Sequence[str] | None = None,
    top: int = 20,
) -> None:
    """Print label issues in their sentences, the flagged word highlighted in red.

    Parameters
    ----------
    issues
        ``(sentence, token)`` tuples (from ``find_label_issues`` or ``issues_from_scores``
        with token scores; an ``(M, 2)`` array works too), or sentence indices (from
        ``issues_from_scores`` without token scores), most severe first.
    tokens
        The words of each sentence.
    labels
        Optional given class ids of each sentence's tokens; shown for each issue.
    pred_probs
        Optional ``(tokens, K)`` predicted probabilities of each sentence; the predicted class
        (argmax) is shown for each issue.
    exclude
        ``(given, predicted)`` class pairs not to show (only applied when both ``labels`` and
        ``pred_probs`` are given).
    class_names
        Optional name of each class, shown instead of class ids.
    top
        Show at most this many issues (a value below 1 shows every issue, as in cleanlab).

    Examples
    --------
    >>> from tokenclean.token_classification.summary import display_issues
    >>> tokens = [["Paris", "is", "nice", "."], ["I", "met", "Anna", "(", "a", "friend", ")"]]
    >>> display_issues([1, 0], tokens)
    Sentence issue: I met Anna (a friend)
    <BLANKLINE>
    <BLANKLINE>
    Sentence issue: Paris is nice.
    >>> display_issues([(1, 2)], tokens, labels=[[1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]],
    ...                class_names=["O", "LOC"])
    Sentence index: 1, Token index: 2
    Token: Anna
    Given label: O
    ----
    I met \x1b[31mAnna\x1b[0m (a friend)
    """
    has_labels, has_probs = _given(labels), _given(pred_probs)
    has_names = _given(class_names)
    if not has_names and (has_labels or has_probs):
        print(f"{_NO_CLASS_NAMES}\n{_NAMES_HINT}\n")
    items = _as_issue_list(issues)
    if not items:
        return
    limit = min(top, len(items))
    token_level = isinstance(items[0], tuple)
    shown = 0
    for issue in items:
        if token_level:
            s, t = issue
            words = tokens[s]
            word = words[t]
            given: Any = labels[s][t] if has_labels else None  # type: ignore[index]
            predicted: Any = _predicted_class(pred_probs[s][t]) if has_probs else None  # type: ignore[index]
            if has_labels and has_probs and (given, predicted) in exclude:
                continue
            if has_names:
                names: Any = class_names
                given = names[given] if has_labels else None
                predicted = names[predicted] if has_probs else None
            lines = [f"Sentence index: {s}, Token index: {t}", f"Token: {word}"]
            if has_labels and has_probs:
                lines.append(
                    f"Given label: {given}, predicted label according to provided "
                    f"pred_probs: {predicted}"
                )
            elif has_labels:
                lines.append(f"Given label: {given}")
            elif has_probs:
                lines.append(f"Predicted label according to provided pred_probs: {predicted}")
            lines += ["----", _highlight(_sentence_text(words), word)]
            block = "\n".join(lines)
        else:
            block = f"Sentence issue: {_sentence_text(tokens[issue])}"
        shown += 1
        print(block)
        if shown == limit:
            break
        print("\n")


def common_label_issues(
    issues: Sequence[tuple[int, int]] | np.ndarray,
    tokens: Sequence[Sequence[str]],
    *,
    labels: Sequence[Sequence[int]] | None = None,
    pred_probs: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    top: int = 10,
    exclude: Sequence[tuple[int, int]] = [],  # never mutated; cleanlab's default
    verbose: bool = True,
) -> Any:
    """Count the words most often flagged, print a summary and return the counts.

    Parameters
    ----------
    issues
        ``(sentence, token)`` tuples (or an ``(M, 2)`` array).
    tokens
        The words of each sentence.
    labels, pred_probs
        When both are given, counts are kept per (given class, predicted class) pair of each
        word; otherwise per word.
    class_names
        Optional name of each class, shown instead of class ids.
    top
        Print at most this many words.
    exclude
        ``(given, predicted)`` class pairs not to count (with ``labels`` and ``pred_probs``).
    verbose
        With ``labels`` and ``pred_probs``: also print each word's class pairs.

    Returns
    -------
    pandas.DataFrame
        Columns ``token, given_label, predicted_label, num_label_issues`` (with ``labels`` and
        ``pred_probs``; one row per word and class pair with a non-zero count) or
        ``token, num_label_issues``; by decreasing count, ties in order of first appearance.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.token_classification.summary import common_label_issues
    >>> tokens = [["Paris", "is", "nice"], ["Anna", "likes", "Paris"]]
    >>> issues = [(0, 0), (1, 2), (1, 0)]
    >>> df = common_label_issues(issues, tokens)
    Token 'Paris' is potentially mislabeled 2 times throughout the dataset
    <BLANKLINE>
    Token 'Anna' is potentially mislabeled 1 times throughout the dataset
    <BLANKLINE>
    >>> df
       token  num_label_issues
    0  Paris                 2
    1   Anna                 1
    >>> labels = [[1, 0, 0], [2, 0, 0]]
    >>> pred_probs = [np.array([[0.1, 0.2, 0.7], [1, 0, 0], [1, 0, 0]]),
    ...               np.array([[0.2, 0.7, 0.1], [1, 0, 0], [0.1, 0.1, 0.8]])]
    >>> df = common_label_issues(issues, tokens, labels=labels, pred_probs=pred_probs,
    ...                          class_names=["O", "PER", "LOC"])
    Token 'Paris' is potentially mislabeled 2 times throughout the dataset
    ---------------------------------------------------------------------------------------
    labeled as class `PER` but predicted to actually be class `LOC` 1 times
    labeled as class `O` but predicted to actually be class `LOC` 1 times
    <BLANKLINE>
    Token 'Anna' is potentially mislabeled 1 times throughout the dataset
    ---------------------------------------------------------------------------------------
    labeled as class `LOC` but predicted to actually be class `PER` 1 times
    <BLANKLINE>
    >>> df
       token given_label predicted_label  num_label_issues
    0  Paris           O             LOC                 1
    1  Paris         PER             LOC                 1
    2   Anna         LOC             PER                 1
    """
    pd = require_pandas("tokenclean.token_classification.summary.common_label_issues")
    items = _as_issue_list(issues)
    if not _given(labels) or not _given(pred_probs):
        per_word: dict[Any, int] = {}
        for s, t in items:
            word = tokens[s][t]
            per_word[word] = per_word.get(word, 0) + 1
        words = list(per_word)
        totals = [per_word[word] for word in words]
        for r in _most_frequent_first(totals)[:top]:
            print(
                f"Token '{words[r]}' is potentially mislabeled {totals[r]} times throughout "
                "the dataset\n"
            )
        rows = sorted(
            ([word, total] for word, total in zip(words, totals, strict=False)),
            key=lambda row: row[1],
            reverse=True,
        )
        return pd.DataFrame(rows, columns=["token", "num_label_issues"])

    assert labels is not None and pred_probs is not None
    has_names = _given(class_names)
    names: Any = class_names
    if not has_names:
        print(f"{_NO_CLASS_NAMES} ")
        print(f"{_NAMES_HINT} \n")
    k = np.asarray(pred_probs[0]).shape[1]
    pair_counts: dict[Any, np.ndarray] = {}
    for s, t in items:
        word = tokens[s][t]
        given = labels[s][t]
        predicted = _predicted_class(pred_probs[s][t])
        if word not in pair_counts:
            pair_counts[word] = np.zeros((k, k), dtype=np.int64)
        if (given, predicted) not in exclude:
            pair_counts[word][given, predicted] += 1
    words = list(pair_counts)
    word_totals = [np.sum(pair_counts[word]) for word in words]
    for r in _most_frequent_first(word_totals)[:top]:
        counts = pair_counts[words[r]]
        print(
            f"Token '{words[r]}' is potentially mislabeled {word_totals[r]} times throughout "
            "the dataset"
        )
        if verbose:
            print(_RULE)
            for flat in _most_frequent_first(counts.ravel()):
                g, p = divmod(int(flat), k)
                if counts[g, p] == 0:
                    break
                if has_names:
                    print(
                        f"labeled as class `{names[g]}` but predicted to actually be class "
                        f"`{names[p]}` {counts[g, p]} times"
                    )
                else:
                    print(
                        f"labeled as class {g} but predicted to actually be class {p} "
                        f"{counts[g, p]} times"
                    )
        print()
    table: list[list[Any]] = []
    for word in words:
        counts = pair_counts[word]
        for g, p in zip(*(axis.tolist() for axis in np.nonzero(counts > 0)), strict=False):
            if has_names:
                table.append([word, names[g], names[p], counts[g, p]])
            else:
                table.append([word, g, p, counts[g, p]])
    table.sort(key=lambda row: row[3], reverse=True)
    return pd.DataFrame(
        table, columns=["token", "given_label", "predicted_label", "num_label_issues"]
    )


def filter_by_token(
    token: str, issues: Sequence[tuple[int, int]], tokens: Sequence[Sequence[str]]
) -> list[tuple[int, int]]:
    """The issues whose word equals ``token``, ignoring case, in their original order.

    Examples
    --------
    >>> from tokenclean.token_classification.summary import filter_by_token
    >>> tokens = [["Paris", "is", "nice"], ["Anna", "likes", "paris"]]
    >>> filter_by_token("PARIS", [(1, 0), (1, 2), (0, 0)], tokens)
    [(1, 2), (0, 0)]
    """
    wanted = token.lower()
    kept = []
    for issue in issues:
        s, t = issue
        if tokens[s][t].lower() == wanted:
            kept.append(issue)
    return kept

"""The ``tokenclean`` command line (also ``python -m tokenclean``).

Commands:
    demo  find label issues in the bundled WNUT-17 sample and print the top ones.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import TextIO

import numpy as np

import tokenclean
from tokenclean.datasets import WnutSample, load_wnut17_sample

__all__ = ["main"]

RANKING_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
_PROG = "tokenclean"
_HIGHLIGHT = "\x1b[1;31m"  # bold red
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0: success; 2: bad usage, or the library rejected the input (one line on stderr).
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported by argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.version:
        print(f"{_PROG} {_version()}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{_PROG}: error: a command is required (try '{_PROG} demo')", file=sys.stderr)
        return 2
    try:
        return _demo(top=args.top, rank_by=args.rank_by)
    except BrokenPipeError:
        # The reader went away (e.g. `tokenclean demo | head`): stop quietly, and keep Python
        # from reporting the same error again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _version() -> str:
    try:
        return importlib.metadata.version("tokenclean")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Find mislabeled tokens in token-classification datasets.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="find label issues in the bundled WNUT-17 sample",
        description=(
            "Run tokenclean.find_label_issues on the first 300 sentences of the WNUT-17 test "
            "split (bundled, CC BY 4.0) with out-of-sample CRF probabilities, and print the "
            "tokens most likely to be mislabeled."
        ),
    )
    demo.add_argument(
        "--top",
        type=_non_negative_int,
        default=10,
        metavar="N",
        help="how many issues to show (default: 10)",
    )
    demo.add_argument(
        "--rank-by",
        choices=RANKING_METHODS,
        default="self_confidence",
        help="label quality score that orders the issues (default: self_confidence)",
    )
    return parser


def _demo(*, top: int, rank_by: str) -> int:
    sample = load_wnut17_sample()
    try:
        issues = tokenclean.find_label_issues(
            sample.labels, sample.pred_probs, return_indices_ranked_by=rank_by
        )
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"{_PROG}: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2
    out = sys.stdout
    lines = _report(sample, issues, top=top, rank_by=rank_by, color=_use_color(out))
    _write(out, "\n".join(lines) + "\n")
    return 0


def _use_color(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty() and not os.environ.get("NO_COLOR"))


def _report(
    sample: WnutSample,
    issues: Sequence[tuple[int, int]],
    *,
    top: int,
    rank_by: str,
    color: bool,
) -> list[str]:
    names = sample.class_names
    n_tokens = sum(len(sentence) for sentence in sample.labels)
    lines = [
        f"WNUT-17 test sample: {len(sample.labels)} sentences, {n_tokens} tokens, "
        f"{len(names)} classes; {len(issues)} label issues found (ranked by {rank_by})",
    ]
    shown = issues[:top]
    for rank, (s, t) in enumerate(shown, start=1):
        probs = sample.pred_probs[s][t]
        given = sample.labels[s][t]
        suggested = int(np.argmax(probs))
        number = f"#{rank}"
        if color:
            number = f"{_BOLD}{number}{_RESET}"
        lines.append("")
        lines.append(
            f"{number}  sentence {s}, token {t}: given {names[given]}, "
            f"suggested {names[suggested]} (p={float(probs[suggested]):.4g}), "
            f"self-confidence p[given]={float(probs[given]):.4g}"
        )
        words = list(sample.tokens[s])
        marked = f"[[{words[t]}]]"
        words[t] = f"{_HIGHLIGHT}{marked}{_RESET}" if color else marked
        lines.append("    " + " ".join(words))
    if len(issues) > len(shown):
        lines.append("")
        lines.append(f"... and {len(issues) - len(shown)} more (show more with --top N)")
    return lines


def _write(stream: TextIO, text: str) -> None:
    """Write ``text``, replacing characters the stream cannot encode (e.g. a cp1252 console)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()

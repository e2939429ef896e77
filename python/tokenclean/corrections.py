"""Corrections files, and ``tokenclean apply``: reviewed tag changes written back to the data.

A corrections file is a JSON list of objects, one per token whose tag changes::

    [
      {"file": "train.conll", "line": 2255, "old_tag": "I-location", "new_tag": "O",
       "word": "s", "who": "ana", "when": "2026-12-06T23:00:00Z"},
      {"file": "train.jsonl", "line": 12, "token": 3, "old_tag": "O", "new_tag": "B-person"}
    ]

* ``file``: the data file, as given to ``tokenclean`` (matched to the DATA of ``apply`` by
  path, then by file name when only one DATA file has that name).
* ``line``: 1-based. In a CoNLL file, the token's own line; in a JSON Lines file, the line of
  the sentence, and ``token`` (0-based) says which token of it.
* ``old_tag``: the tag the file must still have there, ``new_tag``: the tag to write.
* Optional: ``word`` (checked against the file when present), ``sentence``, ``who``, ``when``
  and any other keys (kept for the record, ignored by ``apply``).

An object ``{"corrections": [...]}`` is accepted as well.

What ``apply`` guarantees:

* Only the tag of a corrected token changes: in CoNLL files the characters of the tag column
  of that line (separators, other columns and line endings stay as they were); in JSON Lines
  files the one element of the tags list. Every other byte is copied unchanged.
* A correction whose ``old_tag`` (or ``word``) does not match the file is refused, naming the
  file and line; nothing is written unless every correction applies (``skip_stale`` applies
  the others and returns the skipped ones).
* IOB2 repair: when a correction leaves the token after it as ``I-X`` without a ``B-X`` or
  ``I-X`` before it (e.g. ``B-X`` corrected to ``O``), that ``I-X`` becomes ``B-X``, so the rest
  of the old entity stays an entity of its own. Nothing else is repaired: a corrected tag is
  written as given, and files whose tags are not all ``O``/``B-``/``I-`` are never repaired.
* Each output is written to a temporary file in its folder, then renamed over the target.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenclean.io import InputError, Tag, data_format, read_corpus

__all__ = [
    "Change",
    "Correction",
    "apply_corrections",
    "load_corrections",
    "write_corrections",
]

_WHITESPACE_FIELD = re.compile(r"\S+")


@dataclass(frozen=True)
class Correction:
    """One tag change: ``old_tag`` -> ``new_tag`` at ``file:line`` (``token`` for JSON Lines)."""

    file: str
    line: int
    old_tag: Tag
    new_tag: Tag
    token: int | None = None
    word: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    where: str = field(default="", compare=False)  # e.g. "corrections.json: correction 3"

    def to_json(self) -> dict[str, Any]:
        """The object of a corrections file.

        >>> Correction("a.jsonl", 3, "O", "B-PER", token=2, extra={"who": "ana"}).to_json()
        {'file': 'a.jsonl', 'line': 3, 'token': 2, 'old_tag': 'O', 'new_tag': 'B-PER', 'who': 'ana'}
        """
        record: dict[str, Any] = {"file": self.file, "line": self.line}
        if self.token is not None:
            record["token"] = self.token
        record["old_tag"] = self.old_tag
        record["new_tag"] = self.new_tag
        if self.word is not None:
            record["word"] = self.word
        record.update(self.extra)
        return record


@dataclass(frozen=True)
class Change:
    """A tag changed by :func:`apply_corrections`: a correction, or an IOB2 repair."""

    file: str
    line: int
    token: int | None
    old_tag: Tag
    new_tag: Tag
    repair: bool = False


def read_text_file(path: str) -> str:
    """A UTF-8 file's text; raises :class:`InputError` naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid UTF-8") from None


def read_json_file(path: str) -> Any:
    """A JSON file's value; raises :class:`InputError` naming the file and line."""
    try:
        return json.loads(read_text_file(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None


def load_corrections(path: str) -> list[Correction]:
    """Read a corrections file (see the module docstring); raises :class:`InputError`."""
    data = read_json_file(path)
    if isinstance(data, dict) and isinstance(data.get("corrections"), list):
        data = data["corrections"]
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of corrections")
    return [_correction(item, f"{path}: correction {i + 1}") for i, item in enumerate(data)]


def _correction(item: Any, where: str) -> Correction:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected an object")
    for key in ("file", "line", "old_tag", "new_tag"):
        if key not in item:
            raise InputError(f"{where}: no {key!r} field")
    file, line, token = item["file"], item["line"], item.get("token")
    if not isinstance(file, str) or not file:
        raise InputError(f"{where}: 'file' must be a non-empty string")
    if not _is_int(line) or line < 1:
        raise InputError(f"{where}: 'line' must be an integer >= 1, got {line!r}")
    if token is not None and (not _is_int(token) or token < 0):
        raise InputError(f"{where}: 'token' must be an integer >= 0, got {token!r}")
    for key in ("old_tag", "new_tag"):
        tag = item[key]
        if not (isinstance(tag, str) and tag.strip() == tag and tag) and not _is_int(tag):
            raise InputError(f"{where}: {key!r} must be a tag name or class id, got {tag!r}")
    word = item.get("word")
    if word is not None and not isinstance(word, str):
        raise InputError(f"{where}: 'word' must be a string")
    known = {"file", "line", "token", "old_tag", "new_tag", "word"}
    extra = {k: v for k, v in item.items() if k not in known}
    return Correction(file, line, item["old_tag"], item["new_tag"], token, word, extra, where)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def write_corrections(path: str, corrections: Iterable[Correction]) -> None:
    """Write a corrections file atomically (a temporary file in the folder, then a rename)."""
    records = [c.to_json() for c in corrections]
    text = "[\n" + ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in records)
    text += "\n]\n" if records else "]\n"
    write_atomic(path, text.encode("utf-8"))


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a half-written one.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tokenclean-", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:  # the permissions the file has, or a new file would get (mkstemp gives 0600)
            if os.path.exists(path):
                mode = os.stat(path).st_mode & 0o7777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp, mode)
        except OSError:
            pass
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


# --- apply ----------------------------------------------------------------------------------


@dataclass
class _Token:
    """Where a token's tag is in a file: the line (index into the file's lines) and its span."""

    line_index: int
    start: int
    end: int
    tag: Tag
    word: str


def match_files(corrections: Sequence[Correction], data: Sequence[str]) -> dict[str, str]:
    """For each correction's ``file``, the DATA path it refers to.

    Same path first, then the same file on disk, then the only DATA file with that file name.
    """
    names: dict[str, list[str]] = {}
    for path in data:
        names.setdefault(os.path.basename(path), []).append(path)
    mapping: dict[str, str] = {}
    for c in corrections:
        if c.file in mapping:
            continue
        found = next((p for p in data if os.path.normpath(p) == os.path.normpath(c.file)), None)
        if found is None:
            found = next((p for p in data if _same_file(p, c.file)), None)
        if found is None:
            candidates = names.get(os.path.basename(c.file), [])
            if len(candidates) == 1:
                found = candidates[0]
        if found is None:
            given = ", ".join(data)
            raise InputError(
                f"{c.where}: {c.file} is not among the data files ({given}); give it as DATA"
            )
        mapping[c.file] = found
    return mapping


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def apply_corrections(
    data: str,
    corrections: Sequence[Correction],
    *,
    format: str | None = None,
    tag_column: int = -1,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    classes: Iterable[Tag] = (),
    skip_stale: bool = False,
    repair: bool = True,
) -> tuple[bytes, list[Change], list[tuple[Correction, str]]]:
    """The bytes of ``data`` with ``corrections`` applied (all of them for this file).

    Returns ``(new bytes, changes made, skipped corrections with the reason)``. A stale or
    invalid correction raises :class:`InputError` unless ``skip_stale`` (stale ones only:
    a line that does not exist or a tag outside the class list is always an error).
    The class list is the tags of ``data`` plus ``classes``.
    """
    fmt = data_format(data, format)
    corpus = read_corpus(
        data, format=fmt, tag_column=tag_column, tokens_field=tokens_field, tags_field=tags_field
    )
    try:
        with open(data, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"{data}: cannot read: {exc.strerror or exc}") from None
    parts = raw.split(b"\n")  # lines as the readers count them: ended by \n only
    lines = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    known: set[str] = {str(t) for t in corpus.tags} | {str(t) for t in classes}
    integer = corpus.integer_tags

    # Every sentence as a list of token positions; a token found by (line, token index).
    sentence_of: dict[int, int] = {}
    for s, line in enumerate(corpus.sentence_lines.tolist()):
        sentence_of[int(line)] = s
    located: dict[int, list[_Token]] = {}

    def tokens_of(s: int) -> list[_Token]:
        if s not in located:
            located[s] = _locate(corpus, s, lines, fmt, tag_column, tags_field)
        return located[s]

    def find(c: Correction) -> tuple[int, int]:
        """(sentence, token) of a correction, or raise."""
        where = f"{data}:{c.line}"
        if c.line > len(lines):
            raise InputError(f"{c.where}: {where}: no such line ({data} has {len(lines)} lines)")
        if fmt == "jsonl":
            if c.token is None:
                raise InputError(f"{c.where}: {where}: 'token' is needed for JSON Lines data")
            s = sentence_of.get(c.line)
            if s is None:
                raise InputError(f"{c.where}: {where}: no sentence on this line")
            if c.token >= int(corpus.lengths[s]):
                raise InputError(
                    f"{c.where}: {where}: no token {c.token} (the sentence has "
                    f"{int(corpus.lengths[s])} tokens)"
                )
            return s, c.token
        s = _sentence_at(corpus, c.line)
        if s is None:
            raise InputError(f"{c.where}: {where}: no token on this line")
        t = c.line - int(corpus.sentence_lines[s])
        if c.token is not None and c.token != t:
            raise InputError(
                f"{c.where}: {where}: 'token' is {c.token} but the line holds token {t} "
                "of its sentence"
            )
        return s, t

    wanted: dict[tuple[int, int], Correction] = {}
    skipped: list[tuple[Correction, str]] = []
    for c in corrections:
        if str(c.new_tag) not in known:
            raise InputError(
                f"{c.where}: {data}:{c.line}: new tag {c.new_tag!r} is not a tag of {data} "
                "(add it with --classes or --classes-file)"
            )
        s, t = find(c)
        token = tokens_of(s)[t]
        stale = None
        if str(token.tag) != str(c.old_tag):
            stale = f"the tag is {token.tag!r}, not {c.old_tag!r} (the file changed?)"
        elif c.word is not None and token.word != c.word:
            stale = f"the word is {token.word!r}, not {c.word!r} (the file changed?)"
        if stale is not None:
            if not skip_stale:
                raise InputError(f"{c.where}: {data}:{c.line}: {stale}; nothing was written")
            skipped.append((c, stale))
            continue
        previous = wanted.get((s, t))
        if previous is not None and str(previous.new_tag) != str(c.new_tag):
            raise InputError(
                f"{c.where}: {data}:{c.line}: conflicts with {previous.where}, which sets "
                f"{previous.new_tag!r} instead of {c.new_tag!r}"
            )
        wanted[(s, t)] = c

    # New tags sentence by sentence, then the IOB2 repairs they call for.
    iob2 = repair and all(_is_iob2(str(t)) for t in known)
    changes: list[Change] = []
    edits: dict[int, list[tuple[int, int, str]]] = {}  # line index -> (start, end, text)
    by_sentence: dict[int, dict[int, Correction]] = {}
    for (s, t), c in wanted.items():
        by_sentence.setdefault(s, {})[t] = c
    for s in sorted(by_sentence):
        tokens = tokens_of(s)
        tags: list[Tag] = [tok.tag for tok in tokens]
        fixed = by_sentence[s]
        for t, c in fixed.items():
            tags[t] = _typed(c.new_tag, integer)
        repaired: set[int] = set()
        if iob2:
            for t in sorted(fixed):
                u = t + 1
                if u < len(tags) and u not in fixed:
                    nxt = str(tags[u])
                    if nxt.startswith("I-") and str(tags[t]) not in ("B-" + nxt[2:], nxt):
                        tags[u] = "B-" + nxt[2:]
                        repaired.add(u)
        for t in sorted(set(fixed) | repaired):
            tok = tokens[t]
            if str(tags[t]) == str(tok.tag):
                continue
            text = _encode_tag(tags[t], fmt, lines[tok.line_index])
            edits.setdefault(tok.line_index, []).append((tok.start, tok.end, text))
            line_no = tok.line_index + 1
            changes.append(
                Change(
                    data,
                    line_no,
                    t if fmt == "jsonl" else None,
                    tok.tag,
                    tags[t],
                    repair=t in repaired,
                )
            )
    out = list(lines)
    for index, pieces in edits.items():
        text = lines[index].decode("utf-8")
        for start, end, new in sorted(pieces, reverse=True):
            text = text[:start] + new + text[end:]
        out[index] = text.encode("utf-8")
    return b"".join(out), changes, skipped


def _is_iob2(tag: str) -> bool:
    return tag == "O" or tag.startswith(("B-", "I-"))


def _typed(tag: Tag, integer: bool) -> Tag:
    if integer and isinstance(tag, str) and tag.isdigit():
        return int(tag)
    return tag


def _encode_tag(tag: Tag, fmt: str, raw_line: bytes) -> str:
    if fmt != "jsonl":
        return str(tag)
    if isinstance(tag, int):
        return str(tag)
    return json.dumps(tag, ensure_ascii=raw_line.isascii())


def _sentence_at(corpus: Any, line: int) -> int | None:
    """The sentence whose tokens cover ``line`` in a CoNLL file."""
    import numpy as np

    s = int(np.searchsorted(corpus.sentence_lines, line, side="right")) - 1
    if s < 0 or line >= int(corpus.sentence_lines[s]) + int(corpus.lengths[s]):
        return None
    return s


def _locate(
    corpus: Any, s: int, lines: list[bytes], fmt: str, tag_column: int, tags_field: str
) -> list[_Token]:
    """The position of each tag of sentence ``s`` in the file's lines (as decoded text)."""
    first = int(corpus.sentence_lines[s])
    count = int(corpus.lengths[s])
    words = corpus.words([s])[s]
    if fmt == "jsonl":
        text = lines[first - 1].decode("utf-8")
        spans = _json_list_items(text, tags_field, f"{corpus.path}:{first}")
        if len(spans) != count:
            raise InputError(f"{corpus.path}:{first}: the file changed while tokenclean ran")
        tokens = []
        for t, (a, b) in enumerate(spans):
            value = json.loads(text[a:b])
            tokens.append(_Token(first - 1, a, b, value, words[t]))
        return tokens
    tokens = []
    for t in range(count):
        index = first - 1 + t
        text = lines[index].decode("utf-8")
        a, b = _tag_span(text, tag_column, first + t == 1)
        tokens.append(_Token(index, a, b, text[a:b], words[t]))
    return tokens


def _tag_span(line: str, tag_column: int, first_line: bool) -> tuple[int, int]:
    """Where the tag of a CoNLL line is, split as :func:`tokenclean.io.read_conll` splits it."""
    body = line.rstrip("\r\n")
    offset = 0
    if first_line and body.startswith("\ufeff"):
        offset = 1
    lead = len(body) - len(body.lstrip())
    if offset and lead == 0:
        lead = 1 + len(body[1:]) - len(body[1:].lstrip())
    text = body.strip() if not offset else body[1:].strip()
    fields: list[tuple[int, int]] = []
    if "\t" in text:
        pos = 0
        for part in text.split("\t"):
            inner = len(part) - len(part.lstrip())
            fields.append((pos + inner, pos + inner + len(part.strip())))
            pos += len(part) + 1
    else:
        fields = [(m.start(), m.end()) for m in _WHITESPACE_FIELD.finditer(text)]
    index = tag_column - 1 if tag_column > 0 else tag_column
    a, b = fields[index]
    return lead + a, lead + b


def _skip(text: str, i: int) -> int:
    """The index of the first non-space character at or after ``i``."""
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _json_list_items(text: str, key: str, where: str) -> list[tuple[int, int]]:
    """The character spans of the items of the top-level list ``key`` of a JSON object."""
    decoder = json.JSONDecoder()
    i = _skip(text, 1 if text.startswith("\ufeff") else 0)
    found: list[tuple[int, int]] | None = None
    try:
        if text[i] != "{":
            raise ValueError
        i = _skip(text, i + 1)
        while text[i] != "}":
            name, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            i = _skip(text, i)
            if text[i] != ":":
                raise ValueError
            i = _skip(text, i + 1)
            if name == key and text[i] == "[":
                items: list[tuple[int, int]] = []
                i = _skip(text, i + 1)
                while text[i] != "]":
                    _, end = decoder.raw_decode(text, i)
                    items.append((i, end))
                    i = _skip(text, end)
                    if text[i] == ",":
                        i = _skip(text, i + 1)
                i += 1
                found = items  # the last occurrence wins, as in json.loads
            else:
                _, i = decoder.raw_decode(text, i)
            i = _skip(text, i)
            if text[i] == ",":
                i = _skip(text, i + 1)
    except (ValueError, IndexError):
        raise InputError(f"{where}: the file changed while tokenclean ran") from None
    if found is None:
        raise InputError(f"{where}: no {key!r} list")
    return found


# --- tokenclean apply -----------------------------------------------------------------------

_APPLY_EPILOG = """\
examples:
  tokenclean apply train.conll --corrections corrections.json -o train.fixed.conll
  tokenclean apply train.conll dev.conll --corrections corrections.json --output-dir fixed/

CORRECTIONS is the file "Export decisions" of the review page (tokenclean report) or
tokenclean import-corrections writes: a JSON list of {"file", "line", "old_tag", "new_tag"}
objects ("token" too for JSON Lines data). Only the corrected tags change; every other byte
of DATA is copied as it is. A correction whose old tag no longer matches the file is refused
and nothing is written (--skip-stale applies the others). In IOB2 data, a correction that
leaves the next token's I-X without its entity start turns that I-X into B-X.
"""


def add_apply_parser(commands: Any) -> None:
    """Register ``tokenclean apply``."""
    import argparse

    parser = commands.add_parser(
        "apply",
        help="write reviewed tag corrections back into CoNLL or JSON Lines files",
        description="Apply a corrections file to DATA, changing only the corrected tags.",
        epilog=_APPLY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", nargs="+", metavar="DATA", help="CoNLL column file, or .jsonl")
    parser.add_argument(
        "--corrections", required=True, metavar="FILE", help="the corrections (JSON)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output", "-o", metavar="FILE", help="the corrected file (one DATA)")
    where.add_argument(
        "--output-dir", metavar="DIR", help="write each corrected DATA file here, same name"
    )
    where.add_argument("--in-place", action="store_true", help="replace DATA (atomically)")
    add_data_options(parser)
    classes = parser.add_mutually_exclusive_group()
    classes.add_argument(
        "--classes", metavar="A,B,...", help="tags allowed besides those already in DATA"
    )
    classes.add_argument("--classes-file", metavar="FILE", help="the same, one tag per line")
    parser.add_argument(
        "--skip-stale",
        action="store_true",
        help="apply the corrections that still match, list the others on stderr",
    )
    parser.add_argument(
        "--no-repair", action="store_true", help="never change a tag that was not corrected"
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="list every tag changed on stderr"
    )
    parser.set_defaults(run=run_apply)


def add_data_options(parser: Any) -> None:
    """The options that say how DATA is read (as ``find-issues`` has them)."""
    group = parser.add_argument_group("reading DATA")
    group.add_argument(
        "--format-in", choices=("conll", "jsonl"), help="format of DATA (default: by extension)"
    )
    group.add_argument(
        "--tag-column",
        type=int,
        default=-1,
        metavar="N",
        help="CoNLL column of the tag, from 1; negative counts from the end (default: -1)",
    )
    group.add_argument("--tokens-field", default="tokens", metavar="NAME")
    group.add_argument("--tags-field", default="tags", metavar="NAME")


def run_apply(args: Any) -> int:
    """``tokenclean apply``: every correction is checked before anything is written."""
    import sys

    from tokenclean.io import read_classes_file

    if args.tag_column == 0:
        raise InputError("--tag-column: columns are numbered from 1")
    targets = _targets(args)
    corrections = load_corrections(args.corrections)
    mapping = match_files(corrections, args.data)
    extra: list[Tag] = []
    if args.classes is not None:
        extra = [name.strip() for name in args.classes.split(",") if name.strip()]
    elif args.classes_file is not None:
        extra = list(read_classes_file(args.classes_file))
    results = []
    for path, target in zip(args.data, targets, strict=False):
        mine = [c for c in corrections if mapping[c.file] == path]
        new, changes, skipped = apply_corrections(
            path,
            mine,
            format=args.format_in,
            tag_column=args.tag_column,
            tokens_field=args.tokens_field,
            tags_field=args.tags_field,
            classes=extra,
            skip_stale=args.skip_stale,
            repair=not args.no_repair,
        )
        results.append((target, new, changes, skipped))
    for target, new, changes, skipped in results:
        write_atomic(target, new)
        for c, reason in skipped:
            print(f"tokenclean: skipped {c.where}: {c.file}:{c.line}: {reason}", file=sys.stderr)
        if args.verbose:
            for ch in changes:
                token = f" token {ch.token}" if ch.token is not None else ""
                how = " (IOB2 repair)" if ch.repair else ""
                print(
                    f"{ch.file}:{ch.line}{token}: {ch.old_tag} -> {ch.new_tag}{how}",
                    file=sys.stderr,
                )
    return 0


def _targets(args: Any) -> list[str]:
    if args.output is not None:
        if len(args.data) != 1:
            raise InputError("--output takes one DATA file; use --output-dir for several")
        if os.path.exists(args.output) and _same_file(args.output, args.data[0]):
            raise InputError(f"{args.output}: --output is DATA itself; use --in-place for that")
        return [args.output]
    if args.output_dir is not None:
        if not os.path.isdir(args.output_dir):
            raise InputError(f"{args.output_dir}: no such folder")
        targets = [os.path.join(args.output_dir, os.path.basename(p)) for p in args.data]
        if len(set(targets)) != len(targets):
            raise InputError("--output-dir: two DATA files have the same name")
        for path, target in zip(args.data, targets, strict=False):
            if os.path.exists(target) and _same_file(path, target):
                raise InputError(f"{target}: would replace DATA; use --in-place for that")
        return targets
    if args.in_place:
        return list(args.data)
    raise InputError("say where to write: --output FILE, --output-dir DIR or --in-place")

"""Readers for the files the ``tokenclean`` command line takes.

* Annotated text: CoNLL-style column files (:func:`read_conll`) and JSON Lines
  (:func:`read_jsonl`), read into a :class:`Corpus`: the given tag of every token, the
  sentence lengths and where each sentence is in the file. The words themselves are not kept;
  :meth:`Corpus.words` reads back the sentences a report needs.
* Predicted probabilities: ``.npy`` and ``.npz`` files (:func:`load_pred_probs`), memory-mapped
  where the file format allows it, into a :class:`PredProbs`.

Every problem with the input raises :class:`InputError`, whose message is one line naming the
file (and the line, where there is one): ``data.conll:12: tag 'B-PER' is not in --classes``.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import sys
import time
import warnings
import zipfile
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, Protocol, TextIO

import numpy as np
import numpy.typing as npt

__all__ = [
    "DOCSTART",
    "Corpora",
    "Corpus",
    "InputError",
    "PredProbs",
    "Progress",
    "Tag",
    "data_format",
    "load_pred_probs",
    "read_classes_file",
    "read_conll",
    "read_corpora",
    "read_corpus",
    "read_jsonl",
    "stderr_is_terminal",
]

#: Lines whose first column is this are document separators in CoNLL files: skipped.
DOCSTART = "-DOCSTART-"
#: Seconds a read must take before a progress bar appears (small files never show one).
PROGRESS_DELAY = 0.5

Tag = str | int
FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]

_PROGRESS_EVERY = 4096  # lines (or arrays) between progress updates
#: Longest CoNLL line read (bytes): a token per line never needs more, and a runaway line
#: (a binary file, a whole document on one line) is refused instead of filling memory.
MAX_CONLL_LINE = 1 << 20
_NPZ_KEY = re.compile(r"arr_(\d+)")


class InputError(Exception):
    """A problem with an input file; ``str(error)`` is the one-line message for the user."""


# --- progress -------------------------------------------------------------------------------


class Progress:
    """A minimal progress bar on a terminal stream, drawn in place with ``\\r``.

    Nothing is drawn until ``delay`` seconds have passed, so quick reads stay silent, and at
    most ten redraws happen per second. :meth:`close` erases the bar.
    """

    def __init__(
        self, label: str, total: int, stream: TextIO, *, delay: float | None = None
    ) -> None:
        self.label = label
        self.total = max(int(total), 1)
        self.stream = stream
        self.delay = PROGRESS_DELAY if delay is None else delay
        self._start = time.monotonic()
        self._last = float("-inf")
        self._width = 0

    def update(self, done: int) -> None:
        """Show that ``done`` of ``total`` units (bytes, arrays) are read."""
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last < 0.1:
            return
        self._last = now
        fraction = min(max(done / self.total, 0.0), 1.0)
        filled = int(fraction * 30)
        text = f"reading {self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}"
        self._width = max(self._width, len(text))
        self.stream.write("\r" + text)
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar, if one was drawn."""
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


# --- annotated text -------------------------------------------------------------------------


@dataclass
class Corpus:
    """The tags of a token-classification file, sentence by sentence.

    Attributes:
        path: the file, as given.
        format: ``"conll"`` or ``"jsonl"``.
        lengths: ``(S,)`` number of tokens of each sentence.
        tag_ids: ``(N,)`` the given tag of each token as an index into ``tags``.
        tags: the distinct tags in order of first appearance (strings, or integer class ids
            for JSON Lines files with integer tags).
        tag_lines: the line where each of ``tags`` first appears.
        sentence_lines: ``(S,)`` the line of each sentence's first token (CoNLL) or of the
            sentence (JSON Lines), 1-based.
        sentence_offsets: ``(S,)`` byte offset of that line, used to read the words back.
    """

    path: str
    format: str
    lengths: IntArray
    tag_ids: IntArray
    tags: list[Tag]
    tag_lines: list[int]
    sentence_lines: IntArray
    sentence_offsets: IntArray
    tag_column: int = -1
    tokens_field: str = "tokens"
    _words: dict[int, list[str]] = field(default_factory=dict, init=False, repr=False)

    @property
    def num_sentences(self) -> int:
        """Number of sentences S."""
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        """Number of tokens N."""
        return len(self.tag_ids)

    @property
    def integer_tags(self) -> bool:
        """Whether the tags are integer class ids (JSON Lines only)."""
        return bool(self.tags) and isinstance(self.tags[0], int)

    @property
    def tag_where(self) -> list[str]:
        """``file:line`` where each of ``tags`` first appears."""
        return [f"{self.path}:{line}" for line in self.tag_lines]

    def sentence_where(self, sentence: int) -> str:
        """``file:line`` of a sentence's first token."""
        return f"{self.path}:{self.sentence_lines[sentence]}"

    def token_line(self, sentence: int, token: int) -> int:
        """The line of a token: in CoNLL files each token has its own line."""
        line = int(self.sentence_lines[sentence])
        return line + token if self.format == "conll" else line

    def words(self, sentences: Iterable[int]) -> dict[int, list[str]]:
        """The words of the given sentences, read back from the file (and cached)."""
        sentences = [int(s) for s in sentences]
        wanted = sorted(set(sentences) - set(self._words))
        if wanted:
            try:
                with open(self.path, "rb") as fh:
                    for s in wanted:
                        fh.seek(int(self.sentence_offsets[s]))
                        self._words[s] = self._read_words(fh, s)
            except OSError as exc:
                raise InputError(f"{self.path}: cannot read: {_reason(exc)}") from None
        return {s: self._words[s] for s in sentences}

    def _read_words(self, fh: BinaryIO, s: int) -> list[str]:
        line = int(self.sentence_lines[s])
        count = int(self.lengths[s])
        changed = InputError(f"{self.path}:{line}: the file changed while tokenclean ran")
        if self.format == "jsonl":
            try:
                words = json.loads(_decode(fh.readline(), self.path, line))[self.tokens_field]
            except (ValueError, KeyError, TypeError, RecursionError):
                raise changed from None
        else:
            words = [
                _first_column(_decode(fh.readline(MAX_CONLL_LINE), self.path, line + i))
                for i in range(count)
            ]
        if not isinstance(words, list) or len(words) != count:
            raise changed
        if not all(isinstance(w, str) for w in words):
            raise changed
        return list(words)


class Corpora:
    """Several annotation files read as one corpus: sentences numbered across the files.

    It answers what a :class:`Corpus` answers (``lengths``, ``tag_ids``, ``tags``,
    :meth:`words`, ...), with the tags of all files in one list, and locates every sentence and
    token in its own file.
    """

    def __init__(self, parts: Sequence[Corpus]) -> None:
        if not parts:
            raise ValueError("no files")
        self.parts = list(parts)
        self.path = ", ".join(part.path for part in self.parts)
        kinds = {part.integer_tags for part in self.parts}
        if len(kinds) > 1:
            first = next(p for p in self.parts if p.integer_tags != self.parts[0].integer_tags)
            raise InputError(
                f"{first.tag_where[0]}: the tags are {_tag_kind(first)}, but those of "
                f"{self.parts[0].path} are {_tag_kind(self.parts[0])}; all files must use one kind"
            )
        index: dict[Tag, int] = {}
        self.tags: list[Tag] = []
        self.tag_where: list[str] = []
        ids = []
        for part in self.parts:
            remap = np.empty(len(part.tags), dtype=np.int64)
            for i, (tag, where) in enumerate(zip(part.tags, part.tag_where, strict=False)):
                if tag not in index:
                    index[tag] = len(self.tags)
                    self.tags.append(tag)
                    self.tag_where.append(where)
                remap[i] = index[tag]
            ids.append(remap[part.tag_ids])
        self.tag_ids: IntArray = np.concatenate(ids)
        self.lengths: IntArray = np.concatenate([part.lengths for part in self.parts])
        counts = [part.num_sentences for part in self.parts]
        self._first = np.concatenate(([0], np.cumsum(counts)))
        self._starts: IntArray | None = None

    @property
    def num_sentences(self) -> int:
        """Number of sentences S, over all files."""
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        """Number of tokens N, over all files."""
        return len(self.tag_ids)

    @property
    def integer_tags(self) -> bool:
        """Whether the tags are integer class ids (JSON Lines only)."""
        return self.parts[0].integer_tags

    def locate(self, sentence: int) -> tuple[int, int]:
        """(index into ``parts``, sentence within that file) of a sentence."""
        i = int(np.searchsorted(self._first, sentence, side="right")) - 1
        return i, sentence - int(self._first[i])

    def _part(self, sentence: int) -> tuple[Corpus, int]:
        i, local = self.locate(sentence)
        return self.parts[i], local

    def sentence_tags(self, sentence: int) -> list[Tag]:
        """The given tags of one sentence."""
        if self._starts is None:  # only the review commands need it: made on first use
            self._starts = np.concatenate(([0], np.cumsum(self.lengths)))
        lo = int(self._starts[sentence])
        return [self.tags[i] for i in self.tag_ids[lo : lo + int(self.lengths[sentence])].tolist()]

    def location(self, sentence: int, token: int) -> tuple[str, int]:
        """The file and 1-based line of a token."""
        part, local = self._part(sentence)
        return part.path, part.token_line(local, token)

    def sentence_where(self, sentence: int) -> str:
        """``file:line`` of a sentence's first token."""
        part, local = self._part(sentence)
        return part.sentence_where(local)

    def words(self, sentences: Iterable[int]) -> dict[int, list[str]]:
        """The words of the given sentences (numbered across the files), read back."""
        sentences = [int(s) for s in sentences]
        by_part: dict[int, list[int]] = {}
        for s in sentences:
            i, within = self.locate(s)
            by_part.setdefault(i, []).append(within)
        found: dict[int, list[str]] = {}
        for i, local in by_part.items():
            first = int(self._first[i])
            for s, words in self.parts[i].words(local).items():
                found[first + s] = words
        return found

    def all_words(self) -> list[list[str]]:
        """The words of every sentence, in order."""
        out: list[list[str]] = []
        for part in self.parts:
            found = part.words(range(part.num_sentences))
            out.extend(found[s] for s in range(part.num_sentences))
        return out


def _tag_kind(corpus: Corpus) -> str:
    return "integer class ids" if corpus.integer_tags else "tag names"


def read_corpora(paths: Sequence[str], **options: Any) -> Corpora:
    """Read several files (:func:`read_corpus` each, same options) as one :class:`Corpora`."""
    return Corpora([read_corpus(path, **options) for path in paths])


def data_format(path: str, override: str | None = None) -> str:
    """``"jsonl"`` for ``.jsonl``/``.json`` files (or ``override``), else ``"conll"``."""
    if override:
        return override
    return "jsonl" if path.lower().endswith((".jsonl", ".json")) else "conll"


def read_corpus(
    path: str,
    *,
    format: str | None = None,
    tag_column: int = -1,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    progress: Progress | None = None,
) -> Corpus:
    """Read a CoNLL or JSON Lines file; the format comes from :func:`data_format`."""
    if data_format(path, format) == "jsonl":
        return read_jsonl(path, tokens_field=tokens_field, tags_field=tags_field, progress=progress)
    return read_conll(path, tag_column=tag_column, progress=progress)


class _Builder:
    """Accumulates sentences while a file is read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lengths = array("q")
        self.tag_ids = array("q")
        self.sentence_lines = array("q")
        self.sentence_offsets = array("q")
        self.index: dict[Tag, int] = {}
        self.tags: list[Tag] = []
        self.tag_lines: list[int] = []

    def tag(self, tag: Tag, line: int) -> None:
        index = self.index.get(tag)
        if index is None:
            if self.tags and isinstance(tag, int) != isinstance(self.tags[0], int):
                raise InputError(
                    f"{self.path}:{line}: the tags mix integer class ids and strings "
                    f"(first tag: {self.tags[0]!r} on line {self.tag_lines[0]}, here: {tag!r})"
                )
            index = self.index[tag] = len(self.tags)
            self.tags.append(tag)
            self.tag_lines.append(line)
        self.tag_ids.append(index)

    def sentence(self, length: int, line: int, offset: int) -> None:
        self.lengths.append(length)
        self.sentence_lines.append(line)
        self.sentence_offsets.append(offset)

    def build(self, fmt: str, **options: Any) -> Corpus:
        if not self.lengths:
            raise InputError(f"{self.path}: no sentences found")
        return Corpus(
            path=self.path,
            format=fmt,
            lengths=np.frombuffer(self.lengths, dtype=np.int64),
            tag_ids=np.frombuffer(self.tag_ids, dtype=np.int64),
            tags=self.tags,
            tag_lines=self.tag_lines,
            sentence_lines=np.frombuffer(self.sentence_lines, dtype=np.int64),
            sentence_offsets=np.frombuffer(self.sentence_offsets, dtype=np.int64),
            **options,
        )


def _first_column(line: str) -> str:
    """The token of a CoNLL line, split as :func:`read_conll` splits it."""
    line = line.strip()
    if "\t" in line:
        return line.split("\t", 1)[0].strip()
    return line.split(None, 1)[0] if line else ""


def _decode(raw: bytes, path: str, line: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}:{line}: not valid UTF-8 text (byte {exc.start + 1} of the line)"
        ) from None
    if "\0" in text:
        raise InputError(_nul_message(path, line, raw))
    return text[1:] if line == 1 and text.startswith("\ufeff") else text


def _nul_message(path: str, line: int, raw: bytes) -> str:
    return (
        f"{path}:{line}: not UTF-8 text (NUL byte at byte {raw.index(0) + 1} of the line; "
        "a UTF-16 file must be converted to UTF-8)"
    )


def _open_binary(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _file_size(fh: BinaryIO) -> int:
    try:
        return os.fstat(fh.fileno()).st_size
    except OSError:
        return 0


def read_conll(path: str, *, tag_column: int = -1, progress: Progress | None = None) -> Corpus:
    """Read a CoNLL-style column file.

    One token per line: the token in the first column, the tag in column ``tag_column``
    (1-based; negative counts from the end, ``-1``, the default, is the last column).
    Columns are separated by tabs if the line has a tab, else by runs of whitespace. Blank
    lines end sentences; lines starting with ``-DOCSTART-`` end the sentence and are skipped.
    """
    if tag_column == 0:
        raise ValueError("tag_column is 1-based (or negative, from the end); 0 is not a column")
    builder = _Builder(path)
    need = tag_column if tag_column > 0 else max(-tag_column, 2)
    if tag_column == -1:
        where = "the last column"
    elif tag_column > 0:
        where = f"column {tag_column}"
    else:
        where = f"column {tag_column} (counting from the end)"
    index = tag_column - 1 if tag_column > 0 else tag_column
    known, tag_ids = builder.index, builder.tag_ids  # fast path for tags seen before
    with _open_binary(path) as fh:
        if progress is not None:
            progress.total = max(_file_size(fh), 1)
        offset = count = lineno = start_line = start_offset = width = width_line = 0
        try:
            read = fh.readline
            while raw := read(MAX_CONLL_LINE + 1):
                lineno += 1
                if len(raw) > MAX_CONLL_LINE:
                    raise InputError(
                        f"{path}:{lineno}: line longer than {MAX_CONLL_LINE} bytes; a CoNLL "
                        "line holds one token and its tags (is this a CoNLL file?)"
                    )
                line_offset = offset
                offset += len(raw)
                if progress is not None and lineno % _PROGRESS_EVERY == 0:
                    progress.update(offset)
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    text = _decode(raw, path, lineno)  # raises, naming the line
                if "\0" in text:
                    raise InputError(_nul_message(path, lineno, raw))
                if lineno == 1:
                    text = text.lstrip("\ufeff")
                columns = text.split("\t") if "\t" in text else text.split()
                token = columns[0].strip() if columns else ""
                if not token or token == DOCSTART:
                    if token == DOCSTART or not text:
                        if count:
                            builder.sentence(count, start_line, start_offset)
                            count = 0
                        continue
                    raise InputError(f"{path}:{lineno}: empty token in column 1")
                if len(columns) < need:
                    found = f"{len(columns)} column{'s' * (len(columns) != 1)}"
                    raise InputError(
                        f"{path}:{lineno}: found {found}; the token is in column 1 and the "
                        f"tag in {where}, so at least {need} are needed (choose the tag's "
                        "column with --tag-column)"
                    )
                if len(columns) != width:
                    if width:
                        raise InputError(
                            f"{path}:{lineno}: found {len(columns)} columns, but line "
                            f"{width_line} has {width}; every token line needs the same columns"
                        )
                    width, width_line = len(columns), lineno
                if count == 0:
                    start_line, start_offset = lineno, line_offset
                count += 1
                tag = columns[index].strip()
                known_id = known.get(tag)
                if known_id is None:
                    builder.tag(tag, lineno)
                else:
                    tag_ids.append(known_id)
        finally:
            if progress is not None:
                progress.close()
        if count:
            builder.sentence(count, start_line, start_offset)
    return builder.build("conll", tag_column=tag_column)


def read_jsonl(
    path: str,
    *,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    progress: Progress | None = None,
) -> Corpus:
    """Read a JSON Lines file: one ``{"tokens": [...], "tags": [...]}`` object per sentence.

    Tags are strings (tag names) or integers (class ids), not a mix. Blank lines are skipped.
    """
    builder = _Builder(path)
    with _open_binary(path) as fh:
        if progress is not None:
            progress.total = max(_file_size(fh), 1)
        offset = 0
        lineno = 0
        try:
            for raw in fh:
                lineno += 1
                line_offset = offset
                offset += len(raw)
                if progress is not None and lineno % _PROGRESS_EVERY == 0:
                    progress.update(offset)
                text = _decode(raw, path, lineno)
                if not text.strip():
                    continue
                tokens, tags = _json_sentence(text, path, lineno, tokens_field, tags_field)
                for tag in tags:
                    builder.tag(tag, lineno)
                builder.sentence(len(tokens), lineno, line_offset)
        finally:
            if progress is not None:
                progress.close()
    return builder.build("jsonl", tokens_field=tokens_field)


def _json_sentence(
    text: str, path: str, lineno: int, tokens_field: str, tags_field: str
) -> tuple[list[str], list[Tag]]:
    where = f"{path}:{lineno}"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where}: malformed JSON: {exc.msg} (column {exc.colno}); "
            "expected one JSON object per line"
        ) from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply to read") from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, found {_json_kind(obj)}")
    found = ", ".join(repr(k) for k in list(obj)[:6]) or "none"
    for name, option in ((tokens_field, "--tokens-field"), (tags_field, "--tags-field")):
        if name not in obj:
            raise InputError(
                f"{where}: no {name!r} field (fields: {found}; choose another with {option})"
            )
        if not isinstance(obj[name], list):
            raise InputError(f"{where}: field {name!r} is {_json_kind(obj[name])}, not a list")
    tokens: list[Any] = obj[tokens_field]
    tags: list[Any] = obj[tags_field]
    for i, token in enumerate(tokens):
        if not isinstance(token, str):
            raise InputError(f"{where}: token {i} is {_json_kind(token)}; tokens must be strings")
    if len(tokens) != len(tags):
        raise InputError(
            f"{where}: {len(tokens)} tokens in {tokens_field!r} but {len(tags)} tags in "
            f"{tags_field!r}"
        )
    for i, tag in enumerate(tags):
        if isinstance(tag, bool) or not isinstance(tag, (str, int)):
            raise InputError(
                f"{where}: tag {i} is {_json_kind(tag)}; tags must be strings or integer class ids"
            )
        if isinstance(tag, int) and tag < 0:
            raise InputError(f"{where}: tag {i} is {tag}; class ids start at 0")
    return tokens, tags


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})" if len(value) < 40 else "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def read_classes_file(path: str) -> list[str]:
    """Class names, one per line, in column order (blank lines and surrounding spaces ignored)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    with _open_binary(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            name = _decode(raw, path, lineno).strip()
            if not name:
                continue
            if name in seen:
                raise InputError(
                    f"{path}:{lineno}: class {name!r} is listed twice (first on line {seen[name]})"
                )
            seen[name] = lineno
            names.append(name)
    if not names:
        raise InputError(f"{path}: no class names (expected one per line)")
    return names


# --- predicted probabilities ----------------------------------------------------------------


class Sentences(Protocol):
    """What :meth:`PredProbs.aligned_with` reads of a corpus."""

    path: str
    lengths: IntArray

    @property
    def num_tokens(self) -> int: ...

    @property
    def num_sentences(self) -> int: ...

    def sentence_where(self, sentence: int) -> str: ...


@dataclass
class PredProbs:
    """Predicted probabilities, either flat or one array per sentence.

    Attributes:
        path: the file, as given.
        flat: ``(N, K)`` probabilities of all tokens in file order (memory-mapped when
            possible), or None.
        lengths: the ``lengths`` array stored with ``flat`` in an ``.npz``, or None.
        sentences: one ``(T_i, K)`` array per sentence, or None (exactly one of ``flat``
            and ``sentences`` is set).
        keys: the ``.npz`` key of each of ``sentences``.
        num_classes: K.
        class_names: the ``class_names`` array stored in an ``.npz`` (as ``tokenclean
            find-issues --save-pred-probs`` writes it), or None.
    """

    path: str
    flat: FloatArray | None
    lengths: IntArray | None
    sentences: list[FloatArray] | None
    keys: list[str]
    num_classes: int
    class_names: list[str] | None = None

    def aligned_with(self, corpus: Sentences) -> PredProbs:
        """These probabilities checked against ``corpus``: one row per token.

        A lone array in an ``.npz`` with one row per token of a corpus of several sentences
        comes back as flat probabilities. Raises :class:`InputError` on any mismatch.
        """
        if (
            self.sentences is not None
            and len(self.sentences) == 1 < corpus.num_sentences
            and self.sentences[0].shape[0] == corpus.num_tokens
        ):
            return PredProbs(
                self.path, self.sentences[0], None, None, [], self.num_classes, self.class_names
            )
        self._check_matches(corpus)
        return self

    def _check_matches(self, corpus: Sentences) -> None:
        data, n, s_count = corpus.path, corpus.num_tokens, corpus.num_sentences
        in_data = f"{data} has {n} tokens in {s_count} sentences"
        if self.sentences is not None:
            counts = [int(a.shape[0]) for a in self.sentences]
            mismatch = _first_mismatch(corpus.lengths.tolist(), counts)
            if mismatch is None:
                return
            s = mismatch
            if s >= len(counts):
                detail = f"sentence {s} ({corpus.sentence_where(s)}) has no array"
            elif s >= s_count:
                detail = f"array {self.keys[s]!r} has no sentence"
            else:
                detail = (
                    f"sentence {s} ({corpus.sentence_where(s)}) has "
                    f"{corpus.lengths[s]} tokens, array {self.keys[s]!r} has {counts[s]} rows"
                )
            raise InputError(
                f"{self.path}: {len(counts)} arrays with {sum(counts)} rows in total, but "
                f"{in_data}; first mismatch: {detail}"
            )
        assert self.flat is not None
        rows = int(self.flat.shape[0])
        if self.lengths is not None:
            lengths = self.lengths.tolist()
            if int(sum(lengths)) != rows:
                raise InputError(
                    f"{self.path}: 'lengths' add up to {sum(lengths)} but 'pred_probs' has "
                    f"{rows} rows"
                )
            mismatch = _first_mismatch(corpus.lengths.tolist(), lengths)
            if mismatch is not None:
                s = mismatch
                if s >= len(lengths):
                    detail = f"sentence {s} ({corpus.sentence_where(s)}) is missing"
                elif s >= s_count:
                    detail = f"lengths[{s}] has no sentence"
                else:
                    detail = (
                        f"sentence {s} ({corpus.sentence_where(s)}) has "
                        f"{corpus.lengths[s]} tokens, lengths[{s}] is {lengths[s]}"
                    )
                raise InputError(
                    f"{self.path}: 'lengths' gives {len(lengths)} sentences with {rows} tokens, "
                    f"but {in_data}; first mismatch: {detail}"
                )
        if rows != n:
            raise InputError(
                f"{self.path}: {rows} rows of probabilities, but {in_data}; "
                "expected one row per token in file order"
            )


def _first_mismatch(a: Sequence[int], b: Sequence[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def load_pred_probs(path: str, *, progress: Progress | None = None) -> PredProbs:
    """Load ``.npy`` (flat, memory-mapped) or ``.npz`` probabilities and check their shapes.

    An ``.npz`` holds either a flat ``pred_probs`` array (optionally with ``lengths``, the
    tokens of each sentence), or one ``(tokens, K)`` array per sentence, in key order
    (``arr_0``, ``arr_1``, ... as :func:`numpy.savez` names them; an empty sentence may have
    a ``(0,)`` array). Either kind may carry ``class_names``, a ``(K,)`` array of strings
    naming the columns. Uncompressed flat arrays are memory-mapped.
    :meth:`PredProbs.aligned_with` checks them against the data.

    Every array header is checked against the size of the file (or zip member) before any
    data is touched: a lying or truncated file is refused, never read whole into memory.
    """
    from tokenclean._files import check_input  # (it imports this module)

    check_input(path)
    with _open_binary(path) as fh:
        magic = fh.read(len(_NPY_MAGIC))
        if magic.startswith(b"PK"):
            return _load_npz(path, progress)
        if magic != _NPY_MAGIC:
            raise InputError(
                f"{path}: not a numpy .npy or .npz file (it starts with neither the .npy "
                "magic string nor a zip signature)"
            )
        fh.seek(0)
        header = _npy_header(fh, path, "the array")
        available = _file_size(fh) - fh.tell()
        array_ = _map(path, fh.tell(), header, available, "the array")
    flat = _check_probs(array_, path, "the array")
    return PredProbs(path, flat, None, None, [], int(flat.shape[1]))


_NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class _Header:
    """An ``.npy`` header: the array's shape, dtype and order, and its size in bytes."""

    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype[Any]

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def order(self) -> Literal["C", "F"]:
        return "F" if self.fortran else "C"


def _npy_header(fh: BinaryIO, path: str, what: str) -> _Header:
    """Read and check the ``.npy`` header at the position of ``fh``."""
    fmt = np.lib.format
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about Python 2 headers
            version = fmt.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
            else:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
    except (zipfile.BadZipFile, zlib.error):
        raise  # the zip member's data is damaged, not its header: the caller says so
    except Exception as exc:  # hostile headers raise anything (ValueError, TokenError, ...)
        raise InputError(f"{path}: {what} has an unreadable .npy header ({_short(exc)})") from None
    if dtype.hasobject:
        raise InputError(f"{path}: {what} holds Python objects, which are never loaded")
    if any(d < 0 for d in shape):
        raise InputError(f"{path}: {what} has a negative dimension in its shape {shape}")
    return _Header(tuple(int(d) for d in shape), bool(fortran), dtype)


def _too_short(path: str, what: str, header: _Header, available: int) -> InputError:
    return InputError(
        f"{path}: {what} is truncated or its header lies: shape {header.shape} of "
        f"{header.dtype} needs {header.nbytes} bytes, but {max(available, 0)} follow the header"
    )


def _map(path: str, offset: int, header: _Header, available: int, what: str) -> np.ndarray:
    """Memory-map the array that ``header`` describes at ``offset`` of ``path``."""
    if header.nbytes > available:
        raise _too_short(path, what, header, available)
    try:
        if header.nbytes == 0:
            empty: np.ndarray = np.zeros(header.shape, dtype=header.dtype, order=header.order)
            return empty
        mapped: np.ndarray = np.memmap(
            path,
            dtype=header.dtype,
            mode="r",
            offset=offset,
            shape=header.shape,
            order=header.order,
        )
    except (OSError, ValueError, OverflowError, MemoryError) as exc:
        raise InputError(f"{path}: cannot map {what} into memory ({_short(exc)})") from None
    return mapped


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _check_probs(arr: np.ndarray, path: str, what: str, k: int | None = None) -> FloatArray:
    if arr.ndim != 2:
        raise InputError(f"{path}: {what} has shape {arr.shape}; expected 2-D (tokens, classes)")
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise InputError(
            f"{path}: {what} has dtype {arr.dtype}; probabilities must be float32 or float64"
        )
    if k is not None and arr.shape[1] != k:
        raise InputError(
            f"{path}: {what} has shape {arr.shape}, but earlier arrays have {k} columns "
            "(classes); every array must have the same number of columns"
        )
    return arr


#: Errors a damaged zip file raises while it is read.
_ZIP_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted member
)


def _load_npz(path: str, progress: Progress | None) -> PredProbs:
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise InputError(
            f"{path}: not a readable .npz file: the zip archive is truncated or corrupt "
            f"({_short(exc)})"
        ) from None
    with zf:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise InputError(
                    f"{path}: member {info.filename!r} is not a .npy array; an .npz file "
                    "holds only .npy arrays"
                )
            key = info.filename[:-4]
            if key in members:
                raise InputError(f"{path}: the .npz file holds two arrays named {key!r}")
            members[key] = info
        if not members:
            raise InputError(f"{path}: the .npz file holds no arrays")
        names = None
        if "class_names" in members:
            names = _class_names(_read_member(path, zf, members.pop("class_names")), path)
        if "pred_probs" in members:
            flat = _check_probs(_npz_array(path, zf, members["pred_probs"]), path, "'pred_probs'")
            lengths = None
            if "lengths" in members:
                lengths = _lengths(_read_member(path, zf, members["lengths"]), path)
            probs = PredProbs(path, flat, lengths, None, [], int(flat.shape[1]))
        else:
            probs = _sentence_arrays(path, zf, members, progress)
    if names is not None:
        if len(names) != probs.num_classes:
            raise InputError(
                f"{path}: 'class_names' has {len(names)} names but the probabilities have "
                f"{probs.num_classes} columns"
            )
        probs.class_names = names
    return probs


def _sentence_arrays(
    path: str, zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], progress: Progress | None
) -> PredProbs:
    keys = list(members)
    if not keys:
        raise InputError(f"{path}: the .npz file holds no probability arrays")
    if all(_NPZ_KEY.fullmatch(key) for key in keys):
        keys.sort(key=lambda key: int(key[4:]))
    arrays: list[FloatArray] = []
    if progress is not None:
        progress.total = len(keys)
    k: int | None = None
    try:
        for i, key in enumerate(keys):
            if progress is not None and i % 256 == 0:
                progress.update(i)
            arr = _read_member(path, zf, members[key])
            if arr.shape == (0,) and arr.dtype.kind == "f":
                arrays.append(arr)  # an empty sentence: given its columns below
                continue
            arr = _check_probs(arr, path, f"array {key!r}", k)
            k = int(arr.shape[1])
            arrays.append(arr)
    finally:
        if progress is not None:
            progress.close()
    if k is None:
        raise InputError(f"{path}: every array is empty, so the number of classes is unknown")
    arrays = [a.reshape(0, k) if a.ndim == 1 else a for a in arrays]
    for key, arr in zip(keys, arrays, strict=False):
        _check_probs(arr, path, f"array {key!r}", k)
    return PredProbs(path, None, None, arrays, keys, k)


def _class_names(arr: np.ndarray, path: str) -> list[str]:
    if arr.ndim != 1 or arr.dtype.kind != "U":
        raise InputError(
            f"{path}: 'class_names' has shape {arr.shape} and dtype {arr.dtype}; expected a "
            "1-D array of strings"
        )
    names = [str(name) for name in arr.tolist()]
    if len(set(names)) != len(names) or not all(names):
        raise InputError(f"{path}: 'class_names' holds an empty or repeated name")
    return names


def _lengths(arr: np.ndarray, path: str) -> IntArray:
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise InputError(
            f"{path}: 'lengths' has shape {arr.shape} and dtype {arr.dtype}; expected a 1-D "
            "integer array (tokens per sentence)"
        )
    if arr.size and arr.min() < 0:
        raise InputError(f"{path}: 'lengths' holds a negative count")
    if arr.size and int(arr.max()) > _INT64_MAX:
        i = int(np.argmax(arr))
        raise InputError(
            f"{path}: lengths[{i}] is {int(arr[i])}, more tokens than a sentence can have"
        )
    return arr.astype(np.int64)


_INT64_MAX = 2**63 - 1
#: Most a deflated stream can expand (deflate's limit is about 1032 to 1).
_DEFLATE_RATIO = 1100


def _npz_array(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """A member, memory-mapped when it is stored uncompressed (``np.savez``)."""
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
        return _map_member(path, info)
    return _read_member(path, zf, info)


def _map_member(path: str, info: zipfile.ZipInfo) -> np.ndarray:
    """Memory-map an uncompressed ``.npy`` member of a zip file."""
    what = f"member {info.filename!r}"
    with _open_binary(path) as fh:
        size = _file_size(fh)
        try:
            fh.seek(info.header_offset)
            local = fh.read(30)
        except OSError as exc:
            raise InputError(f"{path}: cannot read {what} ({_short(exc)})") from None
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise InputError(f"{path}: the zip archive is corrupt (no local header for {what})")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        header = _npy_header(fh, path, what)
        offset = fh.tell()
    end = start + info.file_size
    if end > size:
        raise InputError(f"{path}: the zip archive is truncated ({what} runs past its end)")
    return _map(path, offset, header, end - offset, what)


def _read_member(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """Read a (possibly compressed) ``.npy`` member, its header checked first."""
    what = f"member {info.filename!r}"
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > _DEFLATE_RATIO * max(
        info.compress_size, 1
    ):
        raise InputError(
            f"{path}: the zip archive is corrupt ({what} claims {info.file_size} bytes from "
            f"{info.compress_size} compressed bytes)"
        )
    try:
        with zf.open(info) as stream:
            header = _npy_header(stream, path, what)  # type: ignore[arg-type]
            available = info.file_size - stream.tell()
            if header.nbytes > available:
                raise _too_short(path, what, header, available)
            data = stream.read(header.nbytes)
            if len(data) != header.nbytes:
                raise _too_short(path, what, header, len(data))
            stream.read(1)  # reach the end: the CRC is checked there
    except _ZIP_ERRORS as exc:
        raise InputError(f"{path}: cannot read {what}: corrupt data ({_short(exc)})") from None
    arr = np.frombuffer(data, dtype=header.dtype) if data else np.zeros(0, header.dtype)
    result: np.ndarray = arr.reshape(header.shape, order=header.order)
    return result


def stderr_is_terminal() -> bool:
    """Whether ``sys.stderr`` is a terminal (progress bars go there only then)."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty is not None and isatty())

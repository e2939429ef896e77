"""File safety for the command line: atomic output, input checks, change detection.

* :func:`atomic_output` writes a report to a temporary file beside the destination and
  renames it over the destination only when everything went well, so a failed run (a full
  disk, ``ulimit -f``, bad input found late, a changed input) leaves the destination as it
  was. ``-`` means standard output.
* :func:`check_input` refuses pipes and devices up front: DATA is read twice (the words of a
  report are read back at the end) and PROBS is memory-mapped, neither of which a stream
  allows, and a FIFO without a writer would block forever.
* :func:`stamp` and :func:`check_unchanged` notice an input that changed during the run.
* :func:`check_output_not_input` keeps ``--output`` from overwriting any input.

Every failure raises :class:`~tokenclean.io.InputError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple, TextIO, TypeVar

from tokenclean.io import InputError, _reason

__all__ = [
    "STDOUT",
    "OutputError",
    "Stamp",
    "atomic_output",
    "check_input",
    "check_output_not_input",
    "check_unchanged",
    "stamp",
    "unchanged_after",
]

T = TypeVar("T")

#: The ``--output`` value that means standard output.
STDOUT = "-"


class OutputError(InputError):
    """The report could not be written (reported like bad input: one line, exit status 2)."""


# --- inputs ----------------------------------------------------------------------------------


def check_input(path: str, *, allow_stream: bool = False) -> None:
    """Raise :class:`InputError` unless ``path`` is a regular file (or, with ``allow_stream``,
    a pipe or character device, for inputs read once from start to end).

    >>> try:
    ...     check_input("/dev/null")
    ... except InputError as exc:
    ...     print(exc)
    /dev/null: not a regular file (a device); save the input to a file first
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(f"{path}: {_reason(exc)}") from None
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a directory, not a file")
    if allow_stream and (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        return
    kind = "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    raise InputError(f"{path}: not a regular file ({kind}); save the input to a file first")


class Stamp(NamedTuple):
    """What :func:`check_unchanged` compares: the file's identity, size and modification time."""

    device: int
    inode: int
    size: int
    mtime_ns: int


def stamp(path: str) -> Stamp:
    """The current :class:`Stamp` of ``path``."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: {_reason(exc)}") from None
    return Stamp(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def check_unchanged(path: str, before: Stamp) -> None:
    """Raise :class:`InputError` if ``path`` is no longer the file :func:`stamp` saw.

    A change that keeps the size within the file system's timestamp resolution goes unseen.
    """
    try:
        now = stamp(path)
    except InputError:
        now = None
    if now != before:
        raise InputError(
            f"{path}: the file changed while tokenclean ran, so the report cannot be trusted "
            "(an --output file is left as it was); run again"
        )


def unchanged_after(items: Iterable[T], stamps: Mapping[str, Stamp]) -> Iterator[T]:
    """``items``, then a check that none of the files of ``stamps`` changed meanwhile (a
    report's rows, which read words back from the data, are checked before it is committed).
    """
    yield from items
    for path, before in stamps.items():
        check_unchanged(path, before)


def check_output_not_input(
    output: str | None, inputs: Iterable[str | None], option: str = "--output"
) -> None:
    """Raise :class:`InputError` if ``output`` (given with ``option``) is one of ``inputs``
    (the same file, or the same path)."""
    if output is None or output == STDOUT:
        return
    target = os.path.realpath(output)
    for path in inputs:
        if path is None:
            continue
        same = os.path.realpath(path) == target
        if not same:
            with contextlib.suppress(OSError):
                same = os.path.samefile(output, path)
        if same:
            raise InputError(f"{output}: {option} would overwrite an input file ({path})")


# --- output ----------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_output(path: str | None, *, fsync: bool = False) -> Iterator[TextIO]:
    """A text stream (UTF-8, ``\\n`` newlines) for a report to ``path``.

    ``None`` or ``-`` is standard output. A regular file (new or existing) is written to a
    temporary file in the same folder, renamed over ``path`` when the ``with`` block ends
    without an error, and removed otherwise: ``path`` is then left as it was. Other existing
    paths (``/dev/null``, a pipe) are written directly. Write errors raise
    :class:`OutputError`; other errors raised inside the block propagate unchanged.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "report.txt")
    >>> with atomic_output(path) as out:
    ...     _ = out.write("hello\\n")
    >>> open(path).read()
    'hello\\n'
    """
    if path is None or path == STDOUT:
        with _stdout() as out:
            yield out
        return
    target = os.path.realpath(path)  # replace a symlink's target, not the link
    try:
        mode: int | None = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    if mode is not None and not stat.S_ISREG(mode):
        with _direct(path) as out:
            yield out
        return
    folder = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    committed = False
    try:
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
            try:
                out.flush()
                if fsync:
                    os.fsync(out.fileno())
            except OSError as exc:
                raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
            try:
                os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
            committed = True
    except OSError as exc:
        # A write inside the block, or the flush on closing, failed (ENOSPC, EFBIG, EIO).
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    finally:
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _direct(path: str) -> Iterator[TextIO]:
    try:
        out = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None
    try:
        with out:
            yield out
            out.flush()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {_reason(exc)}") from None


@contextlib.contextmanager
def _stdout() -> Iterator[TextIO]:
    out = sys.stdout
    try:
        yield out
        out.flush()
    except BrokenPipeError:
        raise  # the reader went away: the caller stops quietly
    except OSError as exc:
        # Keep Python from failing again on the buffered text when it flushes at exit.
        _discard_stdout()
        raise OutputError(f"standard output: cannot write: {_reason(exc)}") from None


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

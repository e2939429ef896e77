"""A slow, obviously correct variation n-gram scorer to check the engine against."""

from __future__ import annotations

from collections import Counter, defaultdict
from fractions import Fraction

Evidence = tuple[Fraction, int, int, int, int, int]
START, END, MARK = "start", "end", -1


def variation_reference(
    words: list[int],
    labels: list[int],
    lengths: list[int],
    max_n: int,
    min_count: int,
    boundaries: bool = True,
) -> list[Evidence]:
    """Per token: (score, suggested, support, agree, length, offset), as documented in
    ``tokenclean.ngrams``."""
    if boundaries:
        framed_words: list[object] = []
        framed_labels: list[int] = []
        keep = []
        at = 0
        for n in lengths:
            framed_words.append(START)
            framed_labels.append(MARK)
            keep.extend(range(len(framed_words), len(framed_words) + n))
            framed_words.extend(words[at : at + n])
            framed_labels.extend(labels[at : at + n])
            framed_words.append(END)
            framed_labels.append(MARK)
            at += n
        out = _scan(framed_words, framed_labels, [n + 2 for n in lengths], max_n, min_count)
        return [out[i] for i in keep]
    return _scan(list(words), labels, lengths, max_n, min_count)


def _scan(
    words: list[object], labels: list[int], lengths: list[int], max_n: int, min_count: int
) -> list[Evidence]:
    min_count = max(min_count, 2)
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + n)
    windows = []  # (start, n) of every n-gram inside a sentence
    for s in range(len(lengths)):
        for a in range(starts[s], starts[s + 1]):
            for n in range(1, max_n + 1):
                if a + n <= starts[s + 1]:
                    windows.append((a, n))
    tags: dict[tuple[tuple[object, ...], int], Counter[int]] = defaultdict(Counter)
    for a, n in windows:
        gram = tuple(words[a : a + n])
        for j in range(n):
            tags[gram, j][labels[a + j]] += 1
    best: list[tuple[tuple[Fraction, int, int, int], tuple[Fraction, int, int, int, int, int]]]
    best = [
        ((Fraction(0), 0, 0, 0), (Fraction(0), labels[i], 0, 0, 0, 0)) for i in range(len(words))
    ]
    for a, n in windows:
        gram = tuple(words[a : a + n])
        for j in range(n):
            counts = tags[gram, j]
            support = sum(counts.values())
            if support < min_count or len(counts) < 2:
                continue
            i = a + j
            own = labels[i]
            agree = counts[own]
            score = Fraction(support - agree, support) * Fraction(n, max_n)
            top = max(counts.values())
            suggested = own if agree == top else min(t for t, c in counts.items() if c == top)
            key = (score, n, support, -a)
            if best[i][1][2] == 0 or key > best[i][0]:
                best[i] = (key, (score, suggested, support, agree, n, j))
    return [b[1] for b in best]

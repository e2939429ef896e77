"""A slow, obviously correct variation n-gram scorer to check the engine against."""

from __future__ import annotations

from collections import Counter, defaultdict
from fractions import Fraction


def variation_reference(
    words: list[int], labels: list[int], lengths: list[int], max_n: int, min_count: int
) -> list[tuple[Fraction, int, int, int, int, int]]:
    """Per token: (score, suggested, support, agree, length, offset), as documented in
    ``tokenclean.ngrams``."""
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
    tags: dict[tuple[tuple[int, ...], int], Counter[int]] = defaultdict(Counter)
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

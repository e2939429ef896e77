"""Small example data shipped with tokenclean.

The data files live in :mod:`tokenclean.data`; their license and attribution are in
``tokenclean/data/ATTRIBUTION.md``.
"""

from __future__ import annotations

import importlib.resources
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["WnutSample", "load_wnut17_sample"]

_SAMPLE_FILE = "wnut17_sample.npz"


@dataclass(frozen=True)
class WnutSample:
    """Tokens, given tags and out-of-sample predicted probabilities of WNUT-17 sentences.

    Attributes:
        tokens: the words of each sentence.
        labels: the given tag of each token, as an index into ``class_names``.
        pred_probs: one ``(len(sentence), len(class_names))`` float32 array per sentence;
            the arrays are consecutive views into one flat array.
        class_names: the tag names, in class-id order.
    """

    tokens: list[list[str]]
    labels: list[list[int]]
    pred_probs: list[npt.NDArray[np.float32]]
    class_names: list[str]


def load_wnut17_sample() -> WnutSample:
    """Load the first 300 sentences of the WNUT-17 test split with CRF ``pred_probs``.

    WNUT-17 ("Emerging and Rare Entities") is English user-generated text tagged in IOB2 with
    13 classes. The tags are the shared task's gold tags (CC BY 4.0, see
    ``tokenclean/data/ATTRIBUTION.md``); ``pred_probs`` are out-of-sample per-token marginals of
    a CRF trained with 5-fold cross-validation, so they can be passed straight to
    :func:`tokenclean.find_label_issues`. Each call returns fresh arrays.

    >>> sample = load_wnut17_sample()
    >>> len(sample.labels)
    300
    >>> sum(len(sentence) for sentence in sample.tokens)
    4363
    >>> sample.class_names[:3]
    ['O', 'B-corporation', 'I-corporation']
    >>> sample.pred_probs[0].shape, sample.pred_probs[0].dtype
    ((27, 13), dtype('float32'))
    >>> " ".join(sample.tokens[0][16:21])
    'the northern area of Sonmarg'
    >>> [sample.class_names[tag] for tag in sample.labels[0][16:21]]
    ['O', 'O', 'O', 'O', 'B-location']
    """
    resource = importlib.resources.files("tokenclean.data").joinpath(_SAMPLE_FILE)
    with resource.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        class_names: list[str] = npz["class_names"].tolist()
        joined = str(npz["tokens"])
        offsets: list[int] = npz["token_offsets"].tolist()
        labels_flat = npz["labels_flat"]
        lengths = npz["lengths"]
        pred_probs_flat = npz["pred_probs_flat"]

    n_tokens = int(lengths.sum())
    if not (
        len(offsets) == n_tokens + 1
        and labels_flat.shape == (n_tokens,)
        and pred_probs_flat.shape == (n_tokens, len(class_names))
        and pred_probs_flat.dtype == np.float32
    ):
        raise RuntimeError(f"{_SAMPLE_FILE} is inconsistent; reinstall tokenclean")

    cuts = np.cumsum(lengths[:-1])
    words = [joined[a:b] for a, b in itertools.pairwise(offsets)]
    bounds = [0, *cuts.tolist(), n_tokens]
    return WnutSample(
        tokens=[words[a:b] for a, b in itertools.pairwise(bounds)],
        labels=[part.tolist() for part in np.split(labels_flat, cuts)],
        pred_probs=np.split(pred_probs_flat, cuts),
        class_names=class_names,
    )

"""The learned analyser's per-post scoring in C (optional; see _speedups.c)."""

import numpy as np
import numpy.typing as npt

Hashing = tuple[int, int, int, tuple[int, ...], int, int]

VERSION: int
"""The interface version (see linear.SPEEDUPS_VERSION)."""

def char_buckets(text: str, hashing: Hashing, /) -> list[int]:
    """The buckets of the character n-grams of `text`, all n = 2 first (as `features._char_buckets`)."""

def word_buckets(surfaces: list[str], language_salt: int, hashing: Hashing, /) -> list[int]:
    """The word feature buckets of `surfaces` (as `features.word_buckets`)."""

def scores(
    rows: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
    hashing: Hashing,
    text: str,
    surfaces: list[str],
    language_salt: int,
    dense_slots: list[int],
    dense_values: list[float],
    vector_rows: list[int],
    vector_offset: int,
    /,
) -> list[float]:
    """Bias plus the weighted rows of a post's features (as `LinearModel.scores(*features.vector(...), words)`)."""

"""Text columns of the frame evaluator, made once per distinct group of rows, never per row.

Rows that list the same ids (findings, facts to ask) share one text: rows are grouped by exact
bit-packed keys and the text of each group is made once (the facts to ask are also remembered
across chunks by their group signature).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

Bools = npt.NDArray[np.bool_]

SEPARATOR = ";"
"""Between the ids of a list cell (findings, missing facts)."""



def group_codes(columns: list[npt.NDArray[Any]], n: int) -> tuple[npt.NDArray[np.int64], int]:
    """Exact group numbers of the rows of several small non-negative integer columns.

    Columns are bit-packed into 62-bit words (no hashing, so no collisions) and the words
    factorised one after another (a single narrow word is numbered by a dense table). Group
    numbers are in no particular order.
    """
    columns = columns or [np.zeros(n, dtype=np.int8)]
    widths = [max(int(col.max()).bit_length(), 1) if len(col) else 1 for col in columns]
    if sum(widths) <= 20:  # few distinct words: packed in a narrow integer, a dense table
        narrow = np.uint16 if sum(widths) <= 16 else np.uint32
        small = columns[0].astype(narrow)
        bits = widths[0]
        for col, width in zip(columns[1:], widths[1:], strict=True):
            shifted = col.astype(narrow)
            np.left_shift(shifted, bits, out=shifted)
            np.bitwise_or(small, shifted, out=small)
            bits += width
        seen = np.zeros(1 << bits, dtype=bool)
        seen[small] = True
        dense = np.cumsum(seen) - 1
        return dense[small], int(dense[-1]) + 1
    words: list[npt.NDArray[np.int64]] = []
    word = np.zeros(n, dtype=np.int64)
    bits = 0
    for col, width in zip(columns, widths, strict=True):
        if bits + width > 62:
            words.append(word)
            word = np.zeros(n, dtype=np.int64)
            bits = 0
        if bits:
            shifted = col.astype(np.int64)
            np.left_shift(shifted, bits, out=shifted)
            np.bitwise_or(word, shifted, out=word)
        else:
            word = col.astype(np.int64)
        bits += width
    words.append(word)
    first, uniques = pd.factorize(words[0])
    codes, count = np.asarray(first, dtype=np.int64), len(uniques)
    for extra in words[1:]:
        word_codes, word_uniques = pd.factorize(extra)
        joined = codes * len(word_uniques) + word_codes
        new_codes, new_uniques = pd.factorize(joined)
        codes, count = np.asarray(new_codes, dtype=np.int64), len(new_uniques)
    return codes, count


def group_listed(columns: list[npt.NDArray[Any]], n: int, listing: npt.NDArray[np.intp]
                  ) -> tuple[npt.NDArray[np.int64], int, npt.NDArray[np.int64]]:
    """:func:`_group_codes` and :func:`_first_rows` when the columns are zero on every row but
    ``listing`` (sorted, often few): only those rows are grouped, the others (if any) are
    group 0."""
    if len(listing) == n:
        codes, count = group_codes(columns, n)
        return codes, count, first_rows(codes, count)
    some, count = group_codes([c[listing] for c in columns], len(listing))
    codes = np.zeros(n, dtype=np.int64)
    codes[listing] = some + 1
    # The first unlisted row: the first k where listing[k] != k (else len(listing)).
    skipped = np.flatnonzero(listing != np.arange(len(listing)))
    unlisted = int(skipped[0]) if len(skipped) else len(listing)
    first = np.empty(count + 1, dtype=np.int64)
    first[0] = unlisted
    first[1:] = listing[first_rows(some, count)]
    return codes, count + 1, first


def group_masks(masks: list[Bools], n: int) -> tuple[npt.NDArray[np.int64], int]:
    """Exact group numbers of the rows by which of ``masks`` they are in, and the number of
    groups: each row's memberships are bit-packed into 64-bit words (the bytes of eight rows
    shifted at once, as one 64-bit word) and the words factorised."""
    if not masks:
        return np.zeros(n, dtype=np.int64), 1 if n else 0
    padded = -(-n // 8) * 8
    width = -(-len(masks) // 64) * 8  # bytes per row, whole words
    planes = np.zeros((width, padded), dtype=np.uint8)  # byte b of every row
    spread = np.empty(padded // 8, dtype=np.uint64)
    extra = np.zeros(padded, dtype=bool)
    for j, mask in enumerate(masks):
        mask = np.ascontiguousarray(mask)
        if padded != n:
            extra[:n] = mask
            mask = extra
        plane = planes[j // 8].view(np.uint64)
        np.left_shift(mask.view(np.uint64), np.uint64(j % 8), out=spread)
        np.bitwise_or(plane, spread, out=plane)
    words = np.ascontiguousarray(planes[:, :n].T).view(np.uint64)  # (rows, words)
    first, uniques = pd.factorize(words[:, 0])
    codes, count = np.asarray(first, dtype=np.int64), len(uniques)
    for k in range(1, words.shape[1]):
        word_codes, word_uniques = pd.factorize(words[:, k])
        new_codes, new_uniques = pd.factorize(codes * len(word_uniques) + word_codes)
        codes, count = np.asarray(new_codes, dtype=np.int64), len(new_uniques)
    return codes, count


class Joiner:
    """Ids that a row lists when a column is true, in the order added: text per distinct
    group of rows."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.columns: list[Bools] = []
        self.ids: list[str] = []

    def add(self, column: Bools, item: str) -> None:
        if column.any():
            self.columns.append(column)
            self.ids.append(item)

    def codes(self) -> tuple[npt.NDArray[np.int64], Any]:
        """Group number per row and the joined text of each group (an Arrow string array:
        the ids of each group's row listed and joined in Arrow's C loops)."""
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        codes, count = group_masks(self.columns, self.n)
        if not self.columns:
            return codes, [""]
        first = first_rows(codes, count)
        listed = np.stack([c[first] for c in self.columns], axis=1)  # (groups, ids)
        group, column = np.nonzero(listed)  # by group, then in the order of the ids
        offsets = np.zeros(count + 1, dtype=np.int32)
        np.cumsum(np.bincount(group, minlength=count), out=offsets[1:])
        words = pa.array(self.ids, pa.string()).take(pa.array(column.astype(np.int32)))
        return codes, pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), words),
                                     SEPARATOR)


def first_rows(codes: npt.NDArray[np.int64], count: int) -> npt.NDArray[np.int64]:
    """The first row of every group."""
    first = np.full(count, -1, dtype=np.int64)
    # Rows in reverse (a view, no gather): later writes win, so the lowest row index stays.
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


class Texts:
    """What chunks share: the texts already made for a group signature."""

    def __init__(self) -> None:
        self.joined: dict[Any, dict[bytes, str]] = {}

    def texts(self, kind: Any, columns: list[npt.NDArray[Any]], first: npt.NDArray[np.int64],
              make: Callable[[list[int]], str]) -> list[str]:
        """The text of every group (first rows ``first``), made by ``make`` from the columns'
        values on the group's row once per distinct signature under ``kind``."""
        known = self.joined.setdefault(kind, {})
        matrix = np.ascontiguousarray(np.stack([c[first] for c in columns], axis=1))
        width = matrix.dtype.itemsize * matrix.shape[1]
        if not len(first) or not width:
            return [make(matrix[g].tolist()) for g in range(len(first))]
        # Each group's row as one bytes key, and the lookups, in C loops.
        keys: list[Any] = matrix.view(np.dtype((np.void, width))).ravel().tolist()  # bytes
        out: list[str] = list(map(known.get, keys, [""] * len(keys)))
        for g in [g for g, text in enumerate(out) if not text]:
            out[g] = known[keys[g]] = make(matrix[g].tolist())
        return out



"""Reading ahead and writing behind on threads: order kept, errors raised where they belong."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ionto_cds.cohort.overlap import WriteBehind, read_ahead


def test_read_ahead_keeps_the_order_and_reads_on_another_thread() -> None:
    readers: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(5):
            readers.add(threading.current_thread().name)
            yield i

    assert list(read_ahead(items())) == [0, 1, 2, 3, 4]
    assert readers and threading.current_thread().name not in readers


def test_read_ahead_raises_a_read_error_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 unreadable")

    got = []
    with pytest.raises(ValueError, match="row 3"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_write_behind_writes_in_order_and_raises_a_failed_write() -> None:
    written: list[int] = []

    def write(item: int) -> None:
        if item == 3:
            raise OSError("disk full")
        written.append(item)

    behind: WriteBehind[int] = WriteBehind(write)
    behind.write(1)
    behind.write(2)
    behind.write(3)
    with pytest.raises(OSError, match="disk full"):
        behind.finish()
    assert written == [1, 2]

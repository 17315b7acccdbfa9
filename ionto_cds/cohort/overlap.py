"""Reading ahead and writing behind, each on one thread: pyarrow reads and writes files
without holding the GIL, so file work overlaps with screening on another core. At most one
chunk is read ahead and one written behind, so memory stays bounded by a few chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items of ``items``, the next one read on a thread while the caller works on this
    one (an error reading it is raised here, in order)."""
    with ThreadPoolExecutor(1, thread_name_prefix="ionto-read") as pool:
        pending = pool.submit(next, items, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = pool.submit(next, items, _END)
            yield item  # type: ignore[misc]


class WriteBehind(Generic[T]):
    """Calls ``write`` on a thread, one call at a time, in order; the error of a call is
    raised by the next :meth:`write` or by :meth:`finish`."""

    def __init__(self, write: Callable[[T], None]) -> None:
        self._write = write
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ionto-write")
        self._pending: Future[None] | None = None

    def write(self, item: T) -> None:
        """Write ``item`` once the previous write is done."""
        self.finish_pending()
        self._pending = self._pool.submit(self._write, item)

    def finish_pending(self) -> None:
        """Wait for the write under way (raising its error)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def finish(self) -> None:
        """Wait for every write and stop the thread."""
        try:
            self.finish_pending()
        finally:
            self._pool.shutdown(wait=True)

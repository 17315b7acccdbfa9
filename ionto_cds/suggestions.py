"""'Did you mean' hints for misspelt names (facts, keys, drugs, units, columns)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ionto_cds.errors import quote


def did_you_mean(word: object, candidates: Iterable[str]) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt name, or an empty string."""
    if not isinstance(word, str) or len(word) > 100:
        return ""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {quote(close[0])}?)" if close else ""

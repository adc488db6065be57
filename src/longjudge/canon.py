"""Fast JSON for the hot paths: request bodies, cache keys and content digests.

The standard library's encoder costs 0.3-0.45 ms for one 22 kB judge request on the
development machine and a request is encoded twice (its body and its cache key); orjson does
the same in about 0.015 ms. That made ``json.dumps`` the largest single cost of the client per
judge call, hence this module instead of ``json`` there.

:func:`canonical` must stay byte-identical to what the keys and digests were computed with
before (``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))`` as
UTF-8), or every cache entry and stored fingerprint would go stale. orjson writes strings,
integers, booleans, null and floats exactly so (checked over every Unicode character and
300,000 random doubles in the tests), except very small floats (``1e-05`` against
``0.00001``: any nonzero float under 1e-4) and non-finite ones (``NaN`` against ``null``);
values holding those go through the standard encoder, as does anything orjson refuses (lone
surrogates, integers past 64 bits, keys that are not strings).
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


def canonical(value: Any) -> bytes:
    """``value`` as canonical JSON bytes: sorted keys, no whitespace, UTF-8, non-ASCII as is."""
    if not _has_odd_float(value):
        try:
            return orjson.dumps(value, option=_SORTED)
        except TypeError:
            pass
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes for the wire (not canonical: keys keep their order)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")


def loads(raw: bytes | str) -> Any:
    """Parse JSON; raises ``ValueError`` (orjson's error is one) on bad input."""
    return orjson.loads(raw)


def _has_odd_float(value: Any) -> bool:
    """Whether ``value`` holds a float that orjson spells unlike ``json`` (tiny or not finite).

    Strings are the bulk of every value here and are skipped at once."""
    if isinstance(value, str):
        return False
    if isinstance(value, float):
        return not (value == 0.0 or 1e-4 <= abs(value) < math.inf)
    if isinstance(value, dict):
        return any(_has_odd_float(v) for v in value.values() if not isinstance(v, str))
    if isinstance(value, (list, tuple)):
        return any(_has_odd_float(v) for v in value if not isinstance(v, str))
    return False


__all__ = ["canonical", "dumps", "loads"]

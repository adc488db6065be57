"""canon.canonical must write exactly what ``json.dumps`` wrote before: cache keys and stored
fingerprints were computed that way, and a change of one byte would make them all stale."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from longjudge.canon import canonical, dumps, loads


def _old(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "surrogatepass")


def test_every_unicode_character_is_written_as_before() -> None:
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    value = {"text": every, "b": [1, None, True, False, -7, 2**63 - 1], "\u00e9": {"z": "\u2028"}}
    assert canonical(value) == _old(value)


def test_floats_are_written_as_before() -> None:
    rng = random.Random(7)
    floats = [0.0, -0.0, 0.7, 1.0, 0.95, 1e-4, 1e-5, 2.5e-7, 1e16, 1e22, 0.1 + 0.2, 5e-324]
    floats += [x * 10.0**e for e in range(-30, 30) for x in (1, -2.5, 9.99)]
    while len(floats) < 20_000:
        f = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(f):
            floats.append(f)
    for f in floats:
        assert canonical({"temperature": f, "messages": ({"content": "x"},)}) == _old(
            {"temperature": f, "messages": ({"content": "x"},)}
        ), f


@pytest.mark.parametrize(
    "value",
    [
        {"x": 1e-5, "y": "text"},
        {"x": [2.5e-7]},
        {"x": 2**70},  # past orjson's 64 bits
        {"x": "lone \ud800 surrogate"},
        {1: "a key that is not a string"},
    ],
)
def test_what_orjson_refuses_or_spells_otherwise_falls_back(value: Any) -> None:
    assert canonical(value) == _old(value)


def test_prose_with_numbers_and_dashes_keeps_the_fast_path() -> None:
    value = {"text": "a one-time re-evaluation of 3 e-mails", "t": 0.7}
    assert canonical(value) == _old(value)
    assert canonical({"t": 0.00001}) == b'{"t":1e-05}'


def test_wire_json_round_trips() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "é\n\"q\""}], "t": 0.5}
    assert loads(dumps(body)) == body
    assert json.loads(dumps({"big": 2**70})) == {"big": 2**70}
    with pytest.raises(ValueError):
        loads(b"{not json")

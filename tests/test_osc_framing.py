"""TCP framing: SLIP (single and double END, any split) and OSC 1.0 length prefix."""

from __future__ import annotations

import random

import pytest

from ciel_node.controls.framing import (
    END,
    ESC,
    MAX_PACKET,
    FramingError,
    LengthPrefixDecoder,
    SlipDecoder,
    detect,
    length_prefix_encode,
    slip_encode,
)
from ciel_node.controls.wire import osc_message

PACKETS = [
    osc_message("/ciel/seed", 42, types="i"),
    osc_message("/ciel/drift", 0.5, types="f"),
    bytes([END, ESC, 1, END, ESC]) * 3,  # needs escaping
    osc_message("/ciel/next"),
]


def _decode_all(decoder: SlipDecoder | LengthPrefixDecoder, stream: bytes, cuts: list[int]) -> list[bytes]:
    out, start = [], 0
    for cut in [*cuts, len(stream)]:
        out += list(decoder.feed(stream[start:cut]))
        start = cut
    return out


def test_slip_double_end_survives_every_split() -> None:
    stream = b"".join(slip_encode(p) for p in PACKETS)
    for cut in range(len(stream) + 1):
        assert _decode_all(SlipDecoder(), stream, [cut]) == PACKETS
    rng = random.Random(0)
    for _ in range(200):
        cuts = sorted(rng.sample(range(len(stream)), 6))
        assert _decode_all(SlipDecoder(), stream, cuts) == PACKETS
    assert [p for b in stream for p in SlipDecoder().feed(bytes([b]))] == []  # fresh decoder per byte: nothing whole


def test_slip_single_end_peers() -> None:
    stream = b"".join(slip_encode(p)[1:] for p in PACKETS)  # no leading END
    assert _decode_all(SlipDecoder(), stream, [5, 17]) == PACKETS
    assert isinstance(detect(stream[0]), SlipDecoder) and isinstance(detect(END), SlipDecoder)


def test_slip_bad_escape_and_oversize_spoil_one_packet_only() -> None:
    d = SlipDecoder()
    good = osc_message("/ciel/seed", 1, types="i")
    stream = bytes([END, 0x2F, ESC, 0x41, END]) + slip_encode(good)
    assert list(d.feed(stream)) == [good] and d.malformed == 1
    huge = bytes([END]) + b"a" * (MAX_PACKET + 10) + bytes([END])
    assert list(d.feed(huge + slip_encode(good))) == [good] and d.malformed == 2


def test_length_prefix_every_split_and_bad_length() -> None:
    stream = b"".join(length_prefix_encode(p) for p in PACKETS)
    assert isinstance(detect(stream[0]), LengthPrefixDecoder)
    for cut in range(len(stream) + 1):
        assert _decode_all(LengthPrefixDecoder(), stream, [cut]) == PACKETS
    with pytest.raises(FramingError):
        list(LengthPrefixDecoder().feed(b"\x00\x10\x00\x00" + b"x" * 8))  # 1 MiB: more than any OSC packet

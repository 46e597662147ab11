"""OSC over TCP: streaming decoders for OSC 1.1 SLIP and OSC 1.0 length-prefix framing, detected per connection."""

from __future__ import annotations

import struct
from collections.abc import Iterator

END, ESC, ESC_END, ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD
MAX_PACKET = 65536  # the largest UDP payload: nothing a controller sends is bigger


class FramingError(ValueError):
    """A stream that cannot be resynchronised (a length prefix out of range): close the connection."""


class SlipDecoder:
    """OSC 1.1 SLIP: packets end with END (a leading END is optional: single- and double-END peers).

    Survives any split of the byte stream. A bad escape or an oversized packet spoils only that
    packet, which is counted and skipped up to the next END. Splits and unescapes with bytes
    methods, not a loop per byte: a 256 KB read costs the event loop well under a millisecond.
    """

    def __init__(self) -> None:
        self._buf = bytearray()  # the current packet, still escaped
        self._bad = False
        self.malformed = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        parts = bytes(data).split(bytes([END]))
        for k, part in enumerate(parts):
            if not self._bad:
                self._buf += part
                if len(self._buf) > 2 * MAX_PACKET + 2:  # escaped, it can be at most twice its size
                    self._buf.clear()
                    self._bad = True
            if k == len(parts) - 1:
                return  # no END after it (yet): the packet goes on in the next read
            packet = self._finish()
            if packet:
                yield packet

    def _finish(self) -> bytes | None:
        raw, bad = bytes(self._buf), self._bad
        self._buf.clear()
        self._bad = False
        if not bad and ESC in raw:
            pieces = raw.split(bytes([ESC]))
            out = [pieces[0]]
            for piece in pieces[1:]:
                if not piece or piece[0] not in (ESC_END, ESC_ESC):
                    bad = True
                    break
                out += [bytes([END if piece[0] == ESC_END else ESC]), piece[1:]]
            raw = b"".join(out)
        if bad or len(raw) > MAX_PACKET:
            self.malformed += 1
            return None
        return raw


class LengthPrefixDecoder:
    """OSC 1.0 over TCP (liblo's osc.tcp://): a big-endian int32 size, then the packet."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.malformed = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        pos = 0
        try:
            while len(self._buf) - pos >= 4:
                (size,) = struct.unpack_from(">i", self._buf, pos)
                if size <= 0 or size > MAX_PACKET:
                    self.malformed += 1
                    raise FramingError(f"length prefix {size} is outside 1..{MAX_PACKET}")
                if len(self._buf) - pos < 4 + size:
                    return
                yield bytes(self._buf[pos + 4 : pos + 4 + size])
                pos += 4 + size
        finally:
            del self._buf[:pos]  # once per read, not once per packet: many small packets stay linear


def detect(first: int) -> SlipDecoder | LengthPrefixDecoder:
    """Pick the framing from a connection's first byte.

    SLIP starts with END or, from single-END peers, with the packet itself ('/' or '#bundle');
    a length prefix of any packet under 16 MiB starts with a zero byte.
    """
    return LengthPrefixDecoder() if first == 0 else SlipDecoder()


def slip_encode(packet: bytes) -> bytes:
    body = packet.replace(bytes([ESC]), bytes([ESC, ESC_ESC])).replace(bytes([END]), bytes([ESC, ESC_END]))
    return bytes([END]) + body + bytes([END])


def length_prefix_encode(packet: bytes) -> bytes:
    return struct.pack(">i", len(packet)) + packet

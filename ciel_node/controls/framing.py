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
    packet, which is counted and skipped up to the next END.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._escaped = False
        self._bad = False
        self.malformed = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        for byte in data:
            if byte == END:
                if self._bad:
                    self.malformed += 1
                elif self._buf:
                    yield bytes(self._buf)
                self._buf.clear()
                self._escaped = self._bad = False
            elif self._bad:
                continue
            elif self._escaped:
                self._escaped = False
                if byte == ESC_END:
                    self._buf.append(END)
                elif byte == ESC_ESC:
                    self._buf.append(ESC)
                else:
                    self._bad = True
            elif byte == ESC:
                self._escaped = True
            else:
                self._buf.append(byte)
            if len(self._buf) > MAX_PACKET:
                self._buf.clear()
                self._bad = True


class LengthPrefixDecoder:
    """OSC 1.0 over TCP (liblo's osc.tcp://): a big-endian int32 size, then the packet."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.malformed = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._buf += data
        while len(self._buf) >= 4:
            (size,) = struct.unpack(">i", self._buf[:4])
            if size <= 0 or size > MAX_PACKET:
                self.malformed += 1
                raise FramingError(f"length prefix {size} is outside 1..{MAX_PACKET}")
            if len(self._buf) < 4 + size:
                return
            packet = bytes(self._buf[4 : 4 + size])
            del self._buf[: 4 + size]
            yield packet


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

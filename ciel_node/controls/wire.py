"""The OSC 1.0 wire format: parse a packet strictly (bounded work), build a message. No node state here."""

from __future__ import annotations

import struct
from typing import Any

# Work one packet may cost the event loop (README, OSC): a controller sends one message or a bundle of
# a few dozen; anything past these is a flood, not a performance.
MAX_MESSAGES = 128  # messages in one packet, bundles flattened
MAX_DEPTH = 8  # bundles inside bundles
MAX_ARGS = 256  # arguments in one message
PACKET_CPU_S = 0.005  # CPU time (not wall time: a busy machine must not cut a bundle short) per packet


class MalformedPacket(ValueError):
    """A packet that is not OSC 1.0, or breaks a work bound: dropped and counted, never answered."""


# --- parsing (strict: every byte an argument promises must be there) -----------------------
def parse_packet(data: bytes) -> list[tuple[str, list[Any]]]:
    """One packet -> its messages in order, bundles flattened; raises MalformedPacket.

    Stricter than python-osc, which pads a missing float with zeros (a 3-byte `,f` message set the
    ceiling to 0 dBFS) and copies every nested bundle. Here the bundle headers are walked first, in
    one buffer, so the bounds above are checked before any message is parsed: a 64 KB flood costs
    a scan of 129 sizes, not a dispatch of 2,700 messages.
    """
    spans: list[tuple[int, int]] = []
    _spans(data, 0, len(data), 0, spans)
    return [_message(data, start, end) for start, end in spans]


def _spans(data: bytes, start: int, end: int, depth: int, out: list[tuple[int, int]]) -> None:
    """Where each message of an element is (start, end), in order; bundles walked by their sizes."""
    if data.startswith(b"#bundle\0", start):
        if depth >= MAX_DEPTH:
            raise MalformedPacket(f"bundles nested deeper than {MAX_DEPTH}")
        i = start + 16  # "#bundle\0" and the timetag, honoured as "now": a future one never holds anything back
        if i > end:
            raise MalformedPacket("bundle shorter than its header")
        while i < end:
            if i + 4 > end:
                raise MalformedPacket("bundle element without its size")
            (size,) = struct.unpack_from(">i", data, i)
            i += 4
            if size <= 0 or size % 4 or i + size > end:
                raise MalformedPacket(f"bundle element size {size} does not fit the packet")
            _spans(data, i, i + size, depth + 1, out)
            i += size
    elif data.startswith(b"/", start):
        out.append((start, end))
        if len(out) > MAX_MESSAGES:
            raise MalformedPacket(f"more than {MAX_MESSAGES} messages in one packet")
    else:
        raise MalformedPacket("neither a message nor a bundle")


def _string(data: bytes, i: int, end: int) -> tuple[str, int]:
    nul = data.find(b"\0", i, end)
    if nul < 0:
        raise MalformedPacket("string without its terminating zero")
    nxt = (nul + 4) & ~3
    if nxt > end:
        raise MalformedPacket("string without its padding")
    try:
        return data[i:nul].decode(), nxt
    except UnicodeDecodeError:
        raise MalformedPacket("string is not UTF-8") from None


_FIXED = {"i": (">i", 4), "f": (">f", 4), "h": (">q", 8), "d": (">d", 8)}
_EMPTY = {"T": True, "F": False, "N": None, "I": float("inf")}


def _message(data: bytes, start: int, end: int) -> tuple[str, list[Any]]:
    address, i = _string(data, start, end)
    if i == end:
        return address, []  # no type tag string: an OSC 1.0 peer sending no arguments
    tags, i = _string(data, i, end)
    if not tags.startswith(","):
        raise MalformedPacket("type tags do not start with ','")
    if len(tags) - 1 > MAX_ARGS:
        raise MalformedPacket(f"more than {MAX_ARGS} arguments in one message")
    args: list[Any] = []
    stack = [args]
    for tag in tags[1:]:
        value: Any
        if tag in _FIXED:
            fmt, size = _FIXED[tag]
            if i + size > end:
                raise MalformedPacket(f"argument '{tag}' promised by the type tags is missing")
            (value,) = struct.unpack_from(fmt, data, i)
            i += size
        elif tag in "sS":
            value, i = _string(data, i, end)
        elif tag == "b":
            if i + 4 > end:
                raise MalformedPacket("blob without its size")
            (size,) = struct.unpack_from(">i", data, i)
            if size < 0 or i + 4 + ((size + 3) & ~3) > end:
                raise MalformedPacket(f"blob of {size} bytes does not fit the packet")
            value, i = data[i + 4 : i + 4 + size], i + 4 + ((size + 3) & ~3)
        elif tag in "crmt":  # char, RGBA, MIDI, timetag: carried, never a number a control could take
            width = 8 if tag == "t" else 4
            if i + width > end:
                raise MalformedPacket(f"argument '{tag}' promised by the type tags is missing")
            raw = data[i : i + width]
            value, i = (chr(raw[3]) if tag == "c" else tuple(raw)), i + width
        elif tag in _EMPTY:
            value = _EMPTY[tag]
        elif tag == "[":
            stack[-1].append([])
            stack.append(stack[-1][-1])
            continue
        elif tag == "]":
            if len(stack) < 2:
                raise MalformedPacket("']' without '[' in the type tags")
            stack.pop()
            continue
        else:
            raise MalformedPacket(f"unknown type tag {tag!r}")
        stack[-1].append(value)
    if len(stack) != 1:
        raise MalformedPacket("'[' without ']' in the type tags")
    return address, args



# --- building ---------------------------------------------------------------------------------------
def _padded(raw: bytes) -> bytes:
    return raw + b"\0" * (4 - len(raw) % 4)  # a terminating zero, then zeros to a multiple of 4


_PACK = {"i": struct.Struct(">i").pack, "f": struct.Struct(">f").pack, "h": struct.Struct(">q").pack,
         "d": struct.Struct(">d").pack}


def _tag(arg: Any) -> str:
    if isinstance(arg, bool):
        return "T" if arg else "F"
    if arg is None:
        return "N"
    return {int: "i", float: "f", str: "s", bytes: "b"}[type(arg)]


def osc_message(address: str, *args: Any, types: str | None = None) -> bytes:
    """One OSC 1.0 message (byte for byte what python-osc's builder makes, without its parse of the result:
    feedback is built on the event loop, for every push and every error)."""
    tags = types or "".join(map(_tag, args))
    out = [_padded(address.encode()), _padded(f",{tags}".encode())]
    for tag, arg in zip(tags, args):
        if tag in _PACK:
            out.append(_PACK[tag](arg))
        elif tag == "s":
            out.append(_padded(str(arg).encode()))
        elif tag == "b":
            out.append(struct.pack(">i", len(arg)) + arg + b"\0" * (-len(arg) % 4))
    return b"".join(out)

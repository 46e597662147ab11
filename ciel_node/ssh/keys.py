"""The server's keys: the operators' (OpenSSH authorized_keys: ed25519, ECDSA and RSA keys, with the options that
restrict what a key may do) and the node's own host key."""

from __future__ import annotations

import base64
import calendar
import ipaddress
import logging
import os
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ciel_node.errors import CielError

log = logging.getLogger(__name__)

SUPPORTED_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_TYPE_LIKE = re.compile(r"^(ssh-|ecdsa-|sk-|rsa-|x509v3-)[A-Za-z0-9@._-]+$")
# Options that only restrict what this server never offers (shells, ptys, agents, X11): safe to ignore.
_IGNORED_OPTIONS = {
    "agent-forwarding", "command", "environment", "no-agent-forwarding", "no-pty", "no-user-rc",
    "no-x11-forwarding", "pty", "user-rc", "x11-forwarding", "no-touch-required", "verify-required", "tunnel",
}
_ENFORCED_OPTIONS = {"from", "permitopen", "restrict", "no-port-forwarding", "port-forwarding", "expiry-time"}
_Bad = Callable[[str], CielError]  # makes the "FILE:LINE: what; fix" error for one line


@dataclass(frozen=True)
class AuthorizedKey:
    """One usable line of an authorized_keys file, with the options this server enforces."""

    line: int
    key_type: str
    blob: bytes
    comment: str
    from_patterns: tuple[str, ...] | None = None
    forwarding: bool = True
    permit_open: tuple[tuple[str, str], ...] | None = None  # (host, port or "*")
    expires: float | None = None

    def admits(self, source: str, now: float) -> bool:
        if self.expires is not None and now >= self.expires:
            return False
        return self.from_patterns is None or _from_matches(self.from_patterns, source)

    def may_forward(self, host: str, port: int) -> bool:
        if not self.forwarding:
            return False
        if self.permit_open is None:
            return True
        return any(h == host.lower() and p in ("*", str(port)) for h, p in self.permit_open)


class AuthorizedKeys:
    """An OpenSSH authorized_keys file: ed25519, ECDSA and RSA keys, options parsed, comments kept for the log."""

    def __init__(self, path: Path, entries: list[AuthorizedKey]) -> None:
        self.path = path
        self._by_blob: dict[bytes, list[AuthorizedKey]] = {}
        for entry in entries:
            self._by_blob.setdefault(entry.blob, []).append(entry)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_blob.values())

    def match(self, blob: bytes, source: str) -> AuthorizedKey | None:
        """The first line for this key that admits `source` now (OpenSSH tries each line in turn)."""
        now = time.time()
        return next((e for e in self._by_blob.get(blob, ()) if e.admits(source, now)), None)

    @classmethod
    def load(cls, path: Path) -> AuthorizedKeys:
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except (OSError, UnicodeDecodeError) as e:
            why = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise CielError(
                f"cannot read the authorized keys file {path} ({why}); pass --authorized-keys with an "
                "OpenSSH authorized_keys file (one public key per line, e.g. ~/.ssh/id_ed25519.pub)"
            ) from None
        entries = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if line and not line.startswith("#"):
                entry = _parse_line(path, number, line)
                if entry is not None:
                    entries.append(entry)
        if not entries:
            raise CielError(
                f"the authorized keys file {path} holds no usable key; add an operator's public key "
                "(the one line of ~/.ssh/id_ed25519.pub) to it"
            )
        return cls(path, entries)


def _parse_line(path: Path, number: int, line: str) -> AuthorizedKey | None:
    def bad(what: str) -> CielError:
        return CielError(
            f"{path}:{number}: {what}; fix or delete that line "
            "(format: [options] ssh-ed25519|ecdsa-sha2-nistp256|ssh-rsa BASE64 [comment])"
        )

    first = line.split(None, 1)[0]
    options: list[tuple[str, str | None]] = []
    rest = line
    if not _TYPE_LIKE.match(first):  # OpenSSH: a line that does not start with a key type starts with options
        options, rest = _split_options(line, bad)
    fields = rest.split(None, 2)
    if not fields or not _TYPE_LIKE.match(fields[0]):
        raise bad(f"expected a key type such as ssh-ed25519, got {fields[0] if fields else 'nothing'!r}")
    key_type = fields[0]
    settings = _option_settings(options, bad)  # before the key: errors come in the order of the line
    names = {name for name, _ in options}
    if key_type not in SUPPORTED_TYPES or "cert-authority" in names:
        what = "certificate authorities" if "cert-authority" in names else f"{key_type} keys"
        log.warning("%s:%d: %s are not supported (ed25519, ECDSA and RSA keys are); line skipped", path, number, what)
        return None
    if len(fields) < 2:
        raise bad(f"the {key_type} key has no base64 data")
    try:
        blob = base64.b64decode(fields[1], validate=True)
        (size,) = struct.unpack(">I", blob[:4])
        inner = blob[4 : 4 + size].decode("ascii")
    except (ValueError, struct.error, UnicodeDecodeError):
        raise bad(f"the key data {fields[1][:16]!r}... is not valid base64") from None
    if inner != key_type:
        raise bad(f"the line says {key_type} but the key data is {inner[:40]!r}")
    try:
        paramiko.PKey.from_type_string(key_type, blob)
    except Exception as e:  # noqa: BLE001 - whatever a truncated or mangled key makes the parser throw
        raise bad(f"the {key_type} key data is damaged ({type(e).__name__})") from None
    return AuthorizedKey(line=number, key_type=key_type, blob=blob, comment=fields[2] if len(fields) > 2 else "",
                         **settings)


def _split_options(line: str, bad: _Bad) -> tuple[list[tuple[str, str | None]], str]:
    """`a,b="x y",c` up to the first whitespace outside quotes -> [(name, value)], rest of the line."""
    i, quoted = 0, False
    while i < len(line) and (quoted or not line[i].isspace()):
        if line[i] == "\\" and quoted and i + 1 < len(line):
            i += 2
            continue
        if line[i] == '"':
            quoted = not quoted
        i += 1
    if quoted:
        raise bad("an option's quotes are not closed")
    options: list[tuple[str, str | None]] = []
    for part in re.findall(r'(?:[^,"]|"(?:\\.|[^"\\])*")+', line[:i]):
        name, eq, value = part.partition("=")
        name = name.lower()
        if eq:
            if not (len(value) >= 2 and value[0] == value[-1] == '"'):
                raise bad(f"option {name} needs a quoted value, like {name}=\"...\"")
            options.append((name, value[1:-1].replace('\\"', '"')))
        else:
            options.append((name, None))
    return options, line[i:].lstrip()


def _option_settings(options: list[tuple[str, str | None]], bad: _Bad) -> dict[str, Any]:
    """The AuthorizedKey fields the options set; an unknown option is an error, as in OpenSSH."""
    from_patterns: list[str] | None = None
    permit: list[tuple[str, str]] | None = None
    restrict = no_forward = allow_forward = False
    expires: float | None = None
    for name, value in options:
        if name in _IGNORED_OPTIONS or name == "cert-authority" or name == "principals":
            continue
        if name not in _ENFORCED_OPTIONS:
            raise bad(f"unknown option {name!r}")
        if name == "restrict":
            restrict = True
        elif name == "no-port-forwarding":
            no_forward = True
        elif name == "port-forwarding":
            allow_forward = True
        elif value is None:
            raise bad(f"option {name} needs a value, like {name}=\"...\"")
        elif name == "from":
            from_patterns = (from_patterns or []) + _from_patterns(value, bad)
        elif name == "permitopen":
            permit = (permit or []) + [_permit(value, bad)]
        else:  # expiry-time
            expires = _expiry(value, bad)
    return {
        "from_patterns": tuple(from_patterns) if from_patterns is not None else None,
        "forwarding": not no_forward and (allow_forward or not restrict),
        "permit_open": tuple(permit) if permit is not None else None,
        "expires": expires,
    }


def _from_patterns(value: str, bad: _Bad) -> list[str]:
    patterns = [p.strip().lower() for p in value.split(",") if p.strip()]
    for p in patterns:
        body = p.lstrip("!")
        if "/" in body:
            try:
                ipaddress.ip_network(body, strict=False)
            except ValueError:
                raise bad(f"from= pattern {p!r} is not a CIDR network") from None
    if not patterns:
        raise bad('from="" is empty; give addresses, e.g. from="192.168.1.*,10.0.0.0/8"')
    return patterns


def _from_matches(patterns: tuple[str, ...], source: str) -> bool:
    """OpenSSH from= semantics on the client's address (names are never resolved, so only address patterns match)."""
    addr = ipaddress.ip_address(source)
    hit_any = False
    for pattern in patterns:
        negated, body = pattern.startswith("!"), pattern.lstrip("!")
        if "/" in body:
            hit = addr in ipaddress.ip_network(body, strict=False)
        else:
            rx = re.escape(body).replace(r"\*", ".*").replace(r"\?", ".")
            hit = re.fullmatch(rx, source.lower()) is not None
        if hit and negated:
            return False
        hit_any = hit_any or hit
    return hit_any


def _permit(value: str, bad: _Bad) -> tuple[str, str]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not (port == "*" or port.isdigit()):
        raise bad(f'permitopen="{value}" must be host:port, e.g. permitopen="127.0.0.1:9000"')
    return host.strip("[]").lower(), port


def _expiry(value: str, bad: _Bad) -> float:
    utc = value.upper().endswith("Z")
    digits = value.rstrip("Zz")
    formats = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
    if not digits.isdigit() or len(digits) not in formats:
        raise bad(f'expiry-time="{value}" must be YYYYMMDD[HHMM[SS]][Z]')
    t = time.strptime(digits, formats[len(digits)])
    return float(calendar.timegm(t)) if utc else time.mktime(t)


# --- the host key --------------------------------------------------------------------------------------
def load_or_create_host_key(path: Path) -> paramiko.PKey:
    """The node's host key: read it, or generate an ed25519 key once (mode 0600) so operators can pin it."""
    if not path.exists():
        _create_host_key(path)
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise CielError(
                f"the SSH host key {path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        return paramiko.PKey.from_path(path)
    except CielError:
        raise
    except Exception as e:  # noqa: BLE001 - OSError, a damaged file, an encrypted key, an unknown type
        raise CielError(
            f"cannot load the SSH host key {path} ({e}); delete it to have a new one generated "
            "(operators will then see a changed host key)"
        ) from None


def _create_host_key(path: Path) -> None:
    # paramiko cannot generate ed25519 keys; cryptography (paramiko's own backend) can, in OpenSSH format.
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the first byte: the secret is never readable by others, not even briefly.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        raise CielError(
            f"cannot write the SSH host key {path} ({e.strerror}); pass --state-dir with a writable folder"
        ) from None
    log.info("SSH: generated a new host key in %s", path)

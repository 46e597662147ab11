"""What every SSH end of the node speaks and logs: the algorithm allow list (current OpenSSH's defaults),
paramiko's own log silenced, peer strings made safe for the log."""

from __future__ import annotations

import paramiko

WIRE_LOG = "ciel_node.ssh.wire"  # paramiko's own log: tracebacks per hostile client, silenced

# What current OpenSSH (10.x) offers by default, as far as paramiko implements it (paramiko has no
# chacha20-poly1305, sntrup761 or UMAC); SHA-1 MACs are left out too. paramiko's CBC ciphers, 3des-cbc, hmac-md5
# and hmac-sha1 are never offered, by the server nor by the clients (operator, reverse tunnel).
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr")
MACS = ("hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512")
KEX = ("mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
       "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256",
       "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256")
KEY_ALGORITHMS = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                  "rsa-sha2-512", "rsa-sha2-256")  # host keys and login signatures alike: no SHA-1 ssh-rsa


def disabled_algorithms(server: bool = False) -> dict[str, list[str]]:
    """paramiko's algorithms outside the lists above, for `Transport(disabled_algorithms=...)` and
    `SSHClient.connect`: an allow list, so an algorithm a later paramiko adds is not offered unseen.

    A server also leaves out group exchange: paramiko offers it even without a moduli file, then fails the
    login of a client that picks it."""
    allowed = {"ciphers": CIPHERS, "macs": MACS, "kex": KEX, "keys": KEY_ALGORITHMS, "pubkeys": KEY_ALGORITHMS}
    disabled = {kind: [a for a in getattr(paramiko.Transport, f"_preferred_{kind}") if a not in ok]
                for kind, ok in allowed.items()}
    if server:
        disabled["kex"] += [k for k in KEX if k.startswith("diffie-hellman-group-exchange")]
    return disabled


SERVER_DISABLED = disabled_algorithms(server=True)


def printable(value: object, limit: int = 120) -> str:
    """A peer-controlled string as one safe log line: control and invisible characters escaped, length bounded."""
    text = str(value)
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text[:limit])
    return out + ("..." if len(text) > limit else "")

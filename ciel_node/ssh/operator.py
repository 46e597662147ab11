"""`ciel-node operator`: a local UDP port bridged to a remote node's OSC over an SSH forward (SLIP on the wire),
and a local TCP port forwarded to its OSCQuery server."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import select
import signal
import socket
import sys
import threading
from pathlib import Path

import paramiko
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket

from ciel_node.config import parse_endpoint
from ciel_node.controls.framing import SlipDecoder, slip_encode
from ciel_node.controls.wire import osc_message
from ciel_node.errors import CielError
from ciel_node.net import family, reach
from ciel_node.ssh.forward import LocalForward
from ciel_node.ssh.policy import printable
from ciel_node.ssh.pump import close_channel
from ciel_node.ssh.tunnel import (
    SshLinkError,
    SshTarget,
    connect,
    default_known_hosts,
    load_key,
    parse_target,
)

log = logging.getLogger(__name__)

DEFAULT_OSCQUERY = "127.0.0.1:5678"  # the port ossia and RNBO use, and the node's default
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.5, 10.0
SEND_TIMEOUT_S = 5.0  # a channel that cannot take one frame for this long is treated as dropped
_WATCHED = (b"/ciel/subscribe\0", b"/ciel/unsubscribe\0", b"/ciel/get\0", b"#bundle\0")


class OperatorBridge:
    """UDP datagrams from the local patch -> one SLIP frame each on a direct-tcpip channel to the node's OSC
    TCP port; SLIP frames back -> UDP datagrams to the patch's feedback port.

    The feedback port is --feedback, else learned from the patch's `/ciel/subscribe PORT [HOST]` (passed
    through: over TCP the node then pushes on the same connection) or `/ciel/get PORT`, which is rewritten
    to a plain `/ciel/get` (a reply port means a UDP port on the *node's* machine). Only plain messages are
    rewritten; bundles pass untouched.

    While the link is down the local UDP port stays open and datagrams are dropped and counted (not
    queued: a burst of stale knob values on reconnect would be worse than a gap). On every (re)connect
    the bridge replays the last subscribe (or subscribes --feedback), else sends `/ciel/get`, so the patch
    hears the current state and the node never takes the connection for an idle one.

    `oscquery` (a local TCP address) is forwarded to 127.0.0.1:`remote_oscquery` on the node's side, one channel
    per connection, over the same SSH link; `oscquery_optional`: a busy local port is a warning, not an error.
    """

    def __init__(self, target: SshTarget, key: paramiko.PKey | None, known_hosts: Path, trust_on_first_use: bool,
                 udp: tuple[str, int], osc_port: int, feedback_port: int | None = None,
                 oscquery: tuple[str, int] | None = None, remote_oscquery: int = 5678,
                 oscquery_optional: bool = False) -> None:
        self.target, self.key, self.known_hosts, self.tofu = target, key, known_hosts, trust_on_first_use
        self.udp_addr, self.osc_port = udp, osc_port
        local = reach(udp[0])  # the patch's feedback goes to this machine
        self._fixed = feedback_port is not None
        self._feedback: tuple[str, int] | None = (local, feedback_port) if feedback_port else None
        self._subscribe: bytes | None = (
            osc_message("/ciel/subscribe", feedback_port, types="i") if feedback_port else None
        )
        self.counters = dict.fromkeys(("sent", "dropped", "feedback", "feedback_dropped", "reconnects"), 0)
        self.oscquery = None if oscquery is None else LocalForward(
            oscquery, ("127.0.0.1", remote_oscquery), self._transport, "OSCQuery", self.counters,
            hint=f"is OSCQuery on at the node, on port {remote_oscquery} (--remote-oscquery)? A stock sshd also needs "
                 f"PermitOpen 127.0.0.1:{remote_oscquery}")
        self._oscquery_optional = oscquery_optional
        self._udp: socket.socket | None = None
        self._client: paramiko.SSHClient | None = None
        self._chan: paramiko.Channel | None = None
        self._send_lock = threading.Lock()

    @property
    def udp_port(self) -> int:
        assert self._udp is not None
        return int(self._udp.getsockname()[1])

    def open(self) -> None:
        """Bind the local UDP port and make the first connection: any failure is a CielError (exit 2)."""
        host, port = self.udp_addr
        sock = socket.socket(family(host), socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as e:
            sock.close()
            raise CielError(
                f"local UDP port {host}:{port} is busy or unusable ({e.strerror}); pick another with --udp HOST:PORT"
            ) from None
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # a knob sweep arrives as a burst
        self._udp = sock
        self._connect()
        self._open_oscquery()  # after the link: any error before it stays the one line the operator reads

    def _open_oscquery(self) -> None:
        if self.oscquery is None:
            return
        host, port = self.oscquery.local
        try:
            self.oscquery.open()
        except OSError as e:
            if not self._oscquery_optional:
                raise CielError(f"local OSCQuery port {host}:{port} is busy or unusable ({e.strerror}); pick another "
                                "with --oscquery HOST:PORT, or --oscquery off") from None
            # The default port, taken (a local node or OSCQuery host): the OSC bridge runs all the same.
            log.warning("local OSCQuery port %s:%d is busy (%s), so OSCQuery is not forwarded; pick another with "
                        "--oscquery HOST:PORT, or --oscquery off", host, port, e.strerror)
            self.oscquery = None

    def close(self) -> None:
        if self.oscquery is not None:
            self.oscquery.close()
        self._drop_link()
        if self._udp is not None:
            self._udp.close()

    def run(self, stop: threading.Event) -> int:
        """Bridge until `stop`; reconnects with backoff. Raises SshTrustError (host key, auth): a person must act."""
        reader = threading.Thread(target=self._udp_loop, args=(stop,), name="ciel-operator-udp", daemon=True)
        reader.start()
        backoff = BACKOFF_MIN_S
        try:
            while not stop.is_set():
                if self._chan is None:
                    try:
                        self._connect()
                    except SshLinkError as e:
                        log.warning("link down: %s; retrying in %.1f s", e, backoff)
                        stop.wait(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX_S)
                        continue
                    backoff = BACKOFF_MIN_S
                    self.counters["reconnects"] += 1
                    log.info("link to %s is back", self.target)
                self._feedback_loop(stop)
                self._drop_link()
                if not stop.is_set():
                    log.warning("link to %s dropped; reconnecting (datagrams are dropped meanwhile)", self.target)
        finally:
            stop.set()
            reader.join(2.0)
        return 0

    # --- the link ---------------------------------------------------------------------------------
    def _connect(self) -> None:
        client = connect(self.target, self.key, self.known_hosts, self.tofu)
        transport = client.get_transport()
        assert transport is not None and self._udp is not None
        try:
            chan = transport.open_channel(
                "direct-tcpip", ("127.0.0.1", self.osc_port), ("127.0.0.1", self.udp_port), timeout=10.0
            )
        except paramiko.ChannelException as e:
            client.close()
            if e.code == paramiko.OPEN_FAILED_CONNECT_FAILED:
                why = "nothing answers there: is the node running, and is --osc-port its OSC port?"
            else:
                why = ("is --osc-port the node's OSC port? A stock sshd needs AllowTcpForwarding yes and "
                       f"PermitOpen 127.0.0.1:{self.osc_port}")
            raise SshLinkError(
                f"{self.target} refused the forward to 127.0.0.1:{self.osc_port} ({printable(e.text)}); {why}"
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            client.close()
            raise SshLinkError(
                f"the link to {self.target} failed while opening the forward ({printable(e)})"
            ) from None
        chan.settimeout(SEND_TIMEOUT_S)
        hello = self._subscribe or osc_message("/ciel/get")
        try:
            chan.sendall(slip_encode(hello))
        except (OSError, paramiko.SSHException) as e:
            client.close()
            raise SshLinkError(f"the link to {self.target} failed right after opening ({printable(e)})") from None
        self._client = client
        with self._send_lock:
            self._chan = chan

    def _transport(self) -> paramiko.Transport | None:
        """The link's transport now (None while down), for the OSCQuery forward's channels."""
        client = self._client
        return client.get_transport() if client is not None else None

    def _drop_link(self) -> None:
        with self._send_lock:
            chan, self._chan = self._chan, None
        if chan is not None:
            close_channel(chan)
        if self._client is not None:
            self._client.close()
            self._client = None

    def _feedback_loop(self, stop: threading.Event) -> None:
        """SLIP frames from the node -> UDP datagrams to the patch, until the channel closes or `stop`."""
        chan, decoder = self._chan, SlipDecoder()
        assert chan is not None and self._udp is not None
        try:
            while not stop.is_set() and not chan.closed:
                readable, _, _ = select.select([chan], [], [], 0.5)
                if not readable:
                    transport = chan.get_transport()
                    if transport is None or not transport.is_active():
                        return
                    continue
                data = chan.recv(65536)
                if not data:
                    return
                for packet in decoder.feed(data):
                    if self._feedback is None:
                        self.counters["feedback_dropped"] += 1
                        continue
                    try:
                        self._udp.sendto(packet, self._feedback)
                        self.counters["feedback"] += 1
                    except OSError:
                        self.counters["feedback_dropped"] += 1
        except (OSError, EOFError, paramiko.SSHException):
            return

    # --- the patch side ---------------------------------------------------------------------------
    def _udp_loop(self, stop: threading.Event) -> None:
        sock = self._udp
        assert sock is not None
        sock.settimeout(0.25)
        while not stop.is_set():
            try:
                data, source = sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                if stop.is_set():
                    return
                continue  # an ICMP error for a feedback datagram surfaces here on some systems
            frame = slip_encode(self._outgoing(data, source[0]))
            with self._send_lock:
                chan = self._chan
                if chan is None:
                    self.counters["dropped"] += 1
                    continue
                try:
                    chan.sendall(frame)
                    self.counters["sent"] += 1
                except (OSError, paramiko.SSHException):
                    self.counters["dropped"] += 1
                    close_channel(chan)  # the feedback loop sees it closed and reconnects

    def _outgoing(self, data: bytes, source_host: str) -> bytes:
        """Learn the feedback port from what the patch sends; rewrite `/ciel/get PORT` to `/ciel/get`."""
        if not data.startswith(_WATCHED):
            return data
        try:
            if data.startswith(b"#bundle"):
                for timed in OscPacket(data).messages:
                    self._learn(timed.message.address, list(timed.message.params), source_host)
                return data
            msg = OscMessage(data)
            args = list(msg.params)
        except Exception:  # noqa: BLE001 - a malformed packet: the node drops and counts it
            return data
        self._learn(msg.address, args, source_host)
        if msg.address == "/ciel/get" and len(args) == 1:
            return osc_message("/ciel/get")
        return data

    def _learn(self, address: str, args: list[object], source_host: str) -> None:
        if address == "/ciel/unsubscribe" and not self._fixed:
            self._subscribe = None
            return
        if address not in ("/ciel/subscribe", "/ciel/get") or not args:
            return
        port = args[0]
        if isinstance(port, bool) or not isinstance(port, (int, float)) or not 1 <= port <= 65535:
            return  # the node answers /ciel/error
        host = source_host
        if len(args) > 1 and isinstance(args[1], str):
            try:
                host = str(ipaddress.ip_address(args[1]))
            except ValueError:
                return
        if address == "/ciel/subscribe" and not self._fixed:
            self._subscribe = osc_message("/ciel/subscribe", int(port), types="i")
            if self._feedback != (host, int(port)):
                log.info("feedback goes to %s:%d (from the patch's /ciel/subscribe)", host, int(port))
            self._feedback = (host, int(port))
        elif address == "/ciel/get" and self._feedback is None:
            self._feedback = (host, int(port))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ciel-node operator",
        description="Bridge a local UDP port (your Pd/Max patch) to a remote node's OSC through SSH, and forward a "
                    "local TCP port to its OSCQuery server.",
    )
    p.add_argument("--ssh", required=True, metavar="USER@HOST[:PORT]", help="the node's SSH server (or a relay)")
    p.add_argument("--key", type=Path, metavar="FILE",
                   help="private key (default: ssh-agent and ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
    p.add_argument("--udp", default="127.0.0.1:9000", metavar="HOST:PORT",
                   help="local UDP port your patch sends to (default 127.0.0.1:9000)")
    p.add_argument("--feedback", type=int, metavar="PORT",
                   help="local UDP port for the node's feedback (default: learned from /ciel/subscribe)")
    p.add_argument("--osc-port", type=int, default=9000, metavar="N",
                   help="the node's OSC port on the remote side (default 9000)")
    p.add_argument("--oscquery", metavar="HOST:PORT|off",
                   help="local TCP port forwarded to the node's OSCQuery server, for ossia score, Chataigne, a "
                        f"browser (default {DEFAULT_OSCQUERY}; off: none)")
    p.add_argument("--remote-oscquery", type=int, default=5678, metavar="PORT",
                   help="the node's OSCQuery port on the remote side (default 5678)")
    p.add_argument("--known-hosts", type=Path, metavar="FILE",
                   help="the host keys you trust (default ~/.ssh/known_hosts)")
    p.add_argument("--trust-on-first-use", action="store_true",
                   help="record an unknown host key in known_hosts (a changed key is still refused)")
    return p


def _oscquery(value: str | None) -> tuple[str, int] | None:
    """--oscquery: None for `off`, the default address when not given."""
    if value is not None and value.strip().lower() == "off":
        return None
    try:
        return parse_endpoint("--oscquery", value or DEFAULT_OSCQUERY)
    except CielError:
        raise CielError(f"--oscquery {value!r} must be HOST:PORT or off, e.g. --oscquery {DEFAULT_OSCQUERY}") from None


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="ciel-node operator: %(message)s")
    bridge: OperatorBridge | None = None
    try:
        for name, value in (("--osc-port", args.osc_port), ("--feedback", args.feedback),
                            ("--remote-oscquery", args.remote_oscquery)):
            if value is not None and not 1 <= value <= 65535:
                raise CielError(f"{name} {value} must be a port in 1..65535")
        target = parse_target(args.ssh)
        udp = parse_endpoint("--udp", args.udp)
        oscquery = _oscquery(args.oscquery)
        key = load_key(args.key, prompt=True)
        bridge = OperatorBridge(target, key, args.known_hosts or default_known_hosts(), args.trust_on_first_use,
                                udp, args.osc_port, args.feedback, oscquery, args.remote_oscquery,
                                oscquery_optional=args.oscquery is None)
        bridge.open()
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        if bridge.oscquery is not None:
            host, port = bridge.oscquery.local[0], bridge.oscquery.port
            log.info("OSCQuery %s:%d -> %s -> the node's OSCQuery port %d; open http://%s:%d/ in your OSCQuery client",
                     host, port, target, args.remote_oscquery, f"[{host}]" if ":" in host else host, port)
        log.info("UDP %s:%d -> %s -> the node's OSC port %d; point your patch at %s %d",
                 udp[0], bridge.udp_port, target, args.osc_port, udp[0], bridge.udp_port)
        bridge.run(stop)
        c = bridge.counters
        log.info("stopped: %d datagrams sent, %d dropped while down, %d feedback packets, %d reconnects",
                 c["sent"], c["dropped"], c["feedback"], c["reconnects"])
        return 0
    except CielError as e:  # SshTrustError too: host key unknown or changed, key refused
        print(f"ciel-node operator: {e}", file=sys.stderr)
        return 2
    finally:
        if bridge is not None:
            bridge.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

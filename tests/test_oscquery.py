"""OSCQuery (controls/oscquery.py) with real peers: python-oscquery reads the namespace, `websockets` and aiohttp
LISTEN, liblo's oscsend changes values and oscdump hears the OSC port HOST_INFO names, zeroconf browses mDNS."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nodes import free_port, node_config, running_node, tcp_sockets, until
from oscpeers import OscDump, oscsend

from ciel_node.controls.oscquery import EXTENSIONS, UNITS, OscQueryServer, max_clients
from ciel_node.controls.wire import parse_packet
from ciel_node.params import PARAMS, READ, READ_WRITE, WRITE
from ciel_node.state import ControlStore

pytestmark = pytest.mark.timeout(120)


def oscquery_config(tmp_path: Path, checkpoints: tuple[Path, Path], **settings: Any):  # type: ignore[no-untyped-def]
    port = free_port()
    return node_config(tmp_path / "state", checkpoints, oscquery=f"127.0.0.1:{port}", **settings), port


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


async def next_frame(ws: Any, deadline_s: float = 5.0) -> Any:
    """The next frame from a `websockets` client: (address, args) for a binary OSC frame, a dict for JSON text."""
    frame = await asyncio.wait_for(ws.recv(), deadline_s)
    if isinstance(frame, bytes):
        ((address, args),) = parse_packet(frame)
        return address, args
    return json.loads(frame)


# --- the namespace, read by a third-party client --------------------------------------------------------
async def test_namespace_as_python_oscquery_reads_it_matches_the_registry(tmp_path: Path, tiny_checkpoints) -> None:
    from pythonoscquery.osc_query_client import OSCQueryClient
    from zeroconf import ServiceInfo

    config, port = oscquery_config(tmp_path, tiny_checkpoints, controls={"drift": 0.37, "seed": 11})
    async with running_node(config, first_piece=False) as r:
        # Its client wants an mDNS answer; mDNS on loopback finds nothing, so the answer is built by hand.
        info = ServiceInfo("_oscjson._tcp.local.", "ciel._oscjson._tcp.local.", port=port,
                           parsed_addresses=["127.0.0.1"])
        client = OSCQueryClient(info)
        root = await asyncio.to_thread(client.query_node, "/")  # requests: blocking, so not on the node's loop
        raw = client.last_json
        host = await asyncio.to_thread(client.get_host_info)
        assert root is not None and root.full_path == "/" and root.is_container
        registry = r.node.controls.registry  # the node's own: PARAMS and the bends its checkpoints declare
        assert len(registry.specs) > len(PARAMS.specs)
        for spec in registry:
            node = root.find_subnode(spec.address)
            assert node is not None, spec.address
            assert node.access == spec.access, spec.address
            assert node.description == spec.description
            if spec.command:
                assert node.value == [None] * max(1, len(spec.types))  # an impulse's JSON; nulls for arguments
                continue
            expected = r.node.controls.value(spec.name)
            if spec.name == "playback":
                expected = 0  # no speakers in tests: reads 0, as /ciel/state/playback does
            assert node.value == list(_listed(expected)), spec.address
            assert [type(v) for v in node.value] == [{"i": int, "f": float, "d": float, "s": str}[t]
                                                     for t in spec.types], spec.address
            if spec.group:
                assert node.value == list(_listed(spec.initial)), spec.address  # every bend at its neutral value
        assert root.find_subnode("/ciel/drift").value == [pytest.approx(0.37)]
        # What python-oscquery does not model (TYPE strings, RANGE, UNIT, CLIPMODE), checked on the same JSON.
        methods = {}
        stack = [raw]
        while stack:
            node = stack.pop()
            assert node["FULL_PATH"] and "DESCRIPTION" in node and "ACCESS" in node
            stack.extend(node.get("CONTENTS", {}).values())
            if "CONTENTS" not in node:
                methods[node["FULL_PATH"]] = node
        assert set(methods) == {s.address for s in registry}
        containers = {k for k, v in raw["CONTENTS"]["ciel"]["CONTENTS"].items() if "CONTENTS" in v}
        assert containers == {"status", "bend", "preset", "xy", "direction"}
        assert methods["/ciel/bend/image/1/rotate"]["RANGE"] == [{"MIN": -180.0, "MAX": 180.0}]
        assert methods["/ciel/bend/image/1/rotate"]["UNIT"] == ["angle.degree"]
        assert raw["CONTENTS"]["ciel"]["CONTENTS"]["bend"]["DESCRIPTION"].startswith("network bending")
        assert methods["/ciel/bend/image/1/translate"]["TYPE"] == "ff"
        for spec in registry:
            m = methods[spec.address]
            assert m["TYPE"] == (spec.types or "I")
            if spec.choices and spec.lo:  # features: a mode, then its amount
                assert m["RANGE"] == [{"VALS": list(spec.choices)}, {"MIN": 0.0, "MAX": spec.hi[1]}]
            elif spec.choices:
                assert m["RANGE"] == [{"VALS": list(spec.choices)}] and "CLIPMODE" not in m
            elif spec.lo:
                assert m["RANGE"] == [{"MIN": lo, "MAX": hi} for lo, hi in zip(spec.lo, spec.hi)]
                assert m["CLIPMODE"] == [spec.clip] * len(spec.types)
            else:
                assert "RANGE" not in m
            assert m.get("UNIT") == ([UNITS[spec.unit]] * len(spec.types) if spec.unit in UNITS else None)
        assert methods["/ciel/interval"]["UNIT"] == ["time.second"]
        assert methods["/ciel/volume_ceiling"]["UNIT"] == ["gain.db"]
        assert host is not None and host.osc_port == r.osc_port and host.osc_transport == "UDP"


async def test_readout_is_read_only_and_next_write_only(tmp_path: Path) -> None:
    server = OscQueryServer(ControlStore(None), "127.0.0.1", 9000)
    await server.start("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as http:
            assert await get(http, base + "/ciel/status/last_seq?ACCESS") == (200, {"ACCESS": READ})
            assert await get(http, base + "/ciel/next?ACCESS") == (200, {"ACCESS": WRITE})
            assert await get(http, base + "/ciel/drift?ACCESS") == (200, {"ACCESS": READ_WRITE})
            assert await get(http, base + "/ciel?ACCESS") == (200, {"ACCESS": 0})
    finally:
        await server.stop()


# --- HTTP: single attributes and status codes ----------------------------------------------------------
async def test_single_attributes_and_status_codes(tmp_path: Path) -> None:
    store = ControlStore(None, overrides={"drift": 0.25})
    server = OscQueryServer(store, "127.0.0.1", 9000)
    await server.start("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as http:
            assert await get(http, base + "/ciel/drift?VALUE") == (200, {"VALUE": [0.25]})
            store.update(drift=0.5)  # live, not a cached answer
            assert await get(http, base + "/ciel/drift?VALUE") == (200, {"VALUE": [0.5]})
            assert await get(http, base + "/ciel/drift?TYPE") == (200, {"TYPE": "f"})
            assert await get(http, base + "/ciel/seed?TYPE") == (200, {"TYPE": "i"})
            assert await get(http, base + "/ciel/interval?RANGE") == (200, {"RANGE": [{"MIN": 0.5, "MAX": 3600.0}]})
            assert await get(http, base + "/ciel/interval?UNIT") == (200, {"UNIT": ["time.second"]})
            assert await get(http, base + "/ciel/status/speakers?RANGE") == (
                200, {"RANGE": [{"VALS": list(PARAMS["speakers"].choices)}]})
            assert await get(http, base + "/ciel/status/speakers?VALUE") == (200, {"VALUE": ["starting"]})
            status, body = await get(http, base + "/ciel/drift?VALUE&CLIPMODE")
            assert (status, body) == (200, {"VALUE": [0.5], "CLIPMODE": ["both"]})
            assert (await get(http, base + "/ciel/drift/?DESCRIPTION"))[1]["DESCRIPTION"] == PARAMS["drift"].description
            status, body = await get(http, base + "/ciel/status?CONTENTS")
            assert set(body["CONTENTS"]) == {"last_seq", "next_at", "presets", "speakers"}
            # An attribute that does not apply to this node: an empty object (the proposal's /baz?TYPE example).
            assert await get(http, base + "/ciel?TYPE") == (200, {})
            assert await get(http, base + "/ciel/drift?UNIT") == (200, {})
            # No value to read (a container, a write-only command): 204.
            assert (await get(http, base + "/ciel/next?VALUE"))[0] == 204
            assert (await get(http, base + "/ciel?VALUE"))[0] == 204
            # Unknown path: 404; unknown or unsupported attribute: 400; each a line naming it.
            status, body = await get(http, base + "/ciel/drfit?VALUE")
            assert status == 404 and "/ciel/drfit" in body["error"]
            status, body = await get(http, base + "/ciel/drift?COLOUR")
            assert status == 400 and "'COLOUR' is not an OSCQuery attribute" in body["error"]
            status, body = await get(http, base + "/ciel/drift?TAGS")
            assert status == 400 and "'TAGS' is not supported" in body["error"]
            async with http.post(base + "/ciel/drift", data=b"0.9") as resp:
                assert resp.status == 405 and store.value("drift") == 0.5
            # HOST_INFO on any path (the proposal: the path is irrelevant), ossia's `?HOST_INFO=1` form too.
            status, info = await get(http, base + "/ciel/drift?HOST_INFO=1")
            assert status == 200 and info["EXTENSIONS"] == EXTENSIONS
            assert set(EXTENSIONS) == {"ACCESS", "VALUE", "RANGE", "DESCRIPTION", "UNIT", "CLIPMODE", "LISTEN"}
            assert (info["OSC_IP"], info["OSC_PORT"], info["OSC_TRANSPORT"]) == ("127.0.0.1", 9000, "UDP")
            assert (info["WS_IP"], info["WS_PORT"]) == ("127.0.0.1", server.port)
            assert info["NAME"].startswith("ciel-node")
            # Through an SSH forward (ciel-node operator) the client reached another port: WS_* say the one it used.
            async with http.get(base + "/?HOST_INFO", headers={"Host": "127.0.0.1:15678"}) as resp:
                info = await resp.json()
            assert (info["WS_IP"], info["WS_PORT"], info["OSC_PORT"]) == ("127.0.0.1", 15678, 9000)
    finally:
        await server.stop()


async def test_host_info_osc_port_answers_get(tmp_path: Path, tiny_checkpoints) -> None:
    config, port = oscquery_config(tmp_path, tiny_checkpoints, controls={"seed": 23})
    async with running_node(config, first_piece=False) as r, aiohttp.ClientSession() as http:
        status, info = await get(http, f"http://127.0.0.1:{port}/?HOST_INFO")
        assert status == 200 and info["OSC_PORT"] == r.osc_port and info["WS_PORT"] == port
        target = f"osc.udp://{info['OSC_IP']}:{info['OSC_PORT']}"
        async with OscDump() as dump:
            await oscsend(target, "/ciel/subscribe", "i", dump.port)
            await oscsend(target, "/ciel/get", "i", dump.port)
            assert await dump.expect(r"^/ciel/state/seed i 23$")
            await dump.expect(r"^/ciel/state/drift f ")


# --- WebSocket: LISTEN / IGNORE, pushes from every source ----------------------------------------------
async def test_listen_gets_changes_from_oscsend_as_binary_osc_and_ignore_stops_them(tmp_path: Path,
                                                                                   tiny_checkpoints) -> None:
    from websockets.asyncio.client import connect

    config, port = oscquery_config(tmp_path, tiny_checkpoints)
    async with running_node(config, first_piece=False) as r, connect(f"ws://127.0.0.1:{port}/") as ws:
        await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/drift"}))
        await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/seed"}))
        await ws.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/status/speakers"}))
        await in_order(ws)
        await oscsend(r.osc_port, "/ciel/drift", "f", 0.25)
        assert await next_frame(ws) == ("/ciel/drift", [0.25])  # typed as declared: f
        await oscsend(r.osc_port, "/ciel/seed", "f", 7.6)  # a float to an int control: rounded, pushed as i
        assert await next_frame(ws) == ("/ciel/seed", [8])
        await oscsend(f"osc.tcp://127.0.0.1:{r.osc_port}", "/ciel/drift", "f", 0.5)  # TCP: the SSH operator's way in
        assert await next_frame(ws) == ("/ciel/drift", [0.5])
        # A readout the node reports from another thread (the engine's status arrives on one).
        await asyncio.to_thread(r.node.controls.report, speakers="open")
        assert await next_frame(ws) == ("/ciel/status/speakers", ["open"])
        await ws.send(json.dumps({"COMMAND": "IGNORE", "DATA": "/ciel/drift"}))
        await in_order(ws)
        await oscsend(r.osc_port, "/ciel/drift", "f", 0.625)
        await oscsend(r.osc_port, "/ciel/seed", "i", 9)
        assert await next_frame(ws) == ("/ciel/seed", [9])  # and no drift before it
        assert r.node.controls.value("drift") == 0.625


async def in_order(ws: Any) -> None:
    """Wait until the server has handled what this client sent so far: commands are handled in order, so the answer
    to a bad one comes after the ones before it took effect (no sleeping on a guess)."""
    await ws.send(json.dumps({"COMMAND": "SYNC"}))
    assert "not served" in (await next_frame(ws))["DATA"]


async def test_bad_websocket_input_gets_clear_errors_and_nobody_else_notices(tmp_path: Path, tiny_checkpoints) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    config, port = oscquery_config(tmp_path, tiny_checkpoints)
    url = f"ws://127.0.0.1:{port}/ciel"  # any path upgrades
    async with running_node(config, first_piece=False) as r, connect(url) as good, connect(url) as bad:
        await good.send(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/drift"}))
        for text, needle in [
            ("{not json", "not JSON"),
            ("[" * 60_000, "not JSON (nested too deeply)"),
            ("[1, 2]", "a command is a JSON object"),
            (json.dumps({"DATA": "/ciel/drift"}), "COMMAND null is not served"),
            (json.dumps({"COMMAND": "SHOUT", "DATA": "/ciel/drift"}), "COMMAND 'SHOUT' is not served"),
            (json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/nowhere"}), "is not an OSC method here"),
            (json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel"}), "is a container"),
            (json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/next"}), "is a command"),
            (json.dumps({"COMMAND": "LISTEN", "DATA": 42}), "is not an OSC method here"),
        ]:
            await bad.send(text)
            error = await next_frame(bad)
            assert error["COMMAND"] == "ERROR" and needle in error["DATA"], (text, error)
        await bad.send(b"/ciel/drift\0,f\0\0\0\0\0\0")  # OSC over the WebSocket: not a way in
        assert "not taken" in (await next_frame(bad))["DATA"] and r.node.controls.value("drift") == 0.1
        await bad.send(b"x" * (1 << 20))  # a huge frame: closed, 1009 (message too big)
        with pytest.raises(ConnectionClosed) as closed:
            await next_frame(bad)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        # Everyone else: untouched.
        await oscsend(r.osc_port, "/ciel/drift", "f", 0.75)
        assert await next_frame(good) == ("/ciel/drift", [0.75])


async def test_500_websocket_clients_over_the_cap_are_refused_and_the_node_carries_on(tmp_path: Path,
                                                                                      tiny_checkpoints) -> None:
    config, port = oscquery_config(tmp_path, tiny_checkpoints)
    async with running_node(config, first_piece=False) as r, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        cap = max_clients()  # the node's own cap, from the same open-files limit
        assert cap < 500
        first = await http.ws_connect(f"http://127.0.0.1:{port}/")
        await first.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/drift"}))

        async def one() -> Any:
            try:
                return await http.ws_connect(f"http://127.0.0.1:{port}/")
            except aiohttp.WSServerHandshakeError as e:
                return e.status

        results = await asyncio.gather(*(one() for _ in range(500)))
        opened = [x for x in results if not isinstance(x, int)]
        assert len(opened) == cap - 1  # the first one holds a place
        assert sorted(set(x for x in results if isinstance(x, int))) == [503]
        # While they are all open: the node answers HTTP and OSC, and the first listener gets its push.
        assert (await get(http, f"http://127.0.0.1:{port}/ciel/drift?VALUE"))[0] == 200
        await oscsend(r.osc_port, "/ciel/drift", "f", 0.125)
        msg = await first.receive(timeout=5)
        assert parse_packet(msg.data) == [("/ciel/drift", [0.125])]
        await asyncio.gather(*(ws.close() for ws in opened))
        again = None
        for _ in range(500):  # room again once the closed ones are forgotten
            if not isinstance(again := await one(), int):
                break
            await asyncio.sleep(0.01)
        assert again is not None and not isinstance(again, int), again
        await again.close()
        await first.close()


async def test_a_client_that_stops_reading_is_dropped_and_others_keep_their_pushes(tmp_path: Path) -> None:
    store = ControlStore(None)
    server = OscQueryServer(store, "127.0.0.1", 9000)
    await server.start("127.0.0.1", 0)
    try:
        # The slow client: a real handshake on a socket with a tiny receive buffer, then it never reads again.
        loop = asyncio.get_running_loop()
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        await loop.sock_connect(slow, ("127.0.0.1", server.port))
        await loop.sock_sendall(slow, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                      b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      b"Sec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: nothing after the handshake is read
            head += await loop.sock_recv(slow, 1)
        assert head.startswith(b"HTTP/1.1 101")
        listen = json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/drift"}).encode()
        await loop.sock_sendall(slow, bytes([0x81, 0x80 | len(listen)]) + b"\0\0\0\0" + listen)  # masked (zero mask)
        async with aiohttp.ClientSession() as http, http.ws_connect(f"http://127.0.0.1:{server.port}/") as good:
            await good.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": "/ciel/drift"}))
            await until(lambda: len(server._listeners.get("/ciel/drift", ())) == 2, 5, "both listening")
            k = 0
            while server.counters["slow_dropped"] == 0:  # ~25,000 changes fill its 64 KiB + 64 KiB + 256 KiB
                k += 1
                assert k < 200_000, "the slow client was never dropped"
                store.update(drift=(k % 1000) / 1000)
                if k % 500 == 0:
                    await asyncio.sleep(0)  # the writers get their turn, as between OSC packets
            assert len(server.clients) == 1
            store.update(drift=0.999)
            last = None
            while last != [("/ciel/drift", [pytest.approx(0.999)])]:  # the good one got everything, in order
                last = parse_packet((await good.receive(timeout=10)).data)
        slow.close()
    finally:
        await server.stop()


# --- start-up: mDNS, off, a busy port --------------------------------------------------------------------
def _lan_ipv4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: it only picks the source address of the default route
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


async def test_mdns_advertises_beyond_loopback_only(tmp_path: Path) -> None:
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    lan = _lan_ipv4()
    if lan is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no non-loopback IPv4 address to advertise on; CI must have one")
        pytest.skip("no non-loopback IPv4 address")
    store = ControlStore(None)
    local = OscQueryServer(store, "127.0.0.1", 9000, name="ciel-test-loopback")
    remote = OscQueryServer(store, lan, 9100, name="ciel-test-lan")
    browser_zc = AsyncZeroconf(interfaces=[lan], ip_version=IPVersion.V4Only)
    seen: dict[str, str] = {}

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        seen[name] = state_change.name

    browser = AsyncServiceBrowser(browser_zc.zeroconf, ["_oscjson._tcp.local.", "_osc._udp.local."],
                                  handlers=[on_change])
    try:
        await local.start("127.0.0.1", 0)
        await remote.start(lan, 0)
        await until(lambda: len(remote.mdns.names) == 2, 15, "the LAN server's services registered")
        assert local.mdns.names == [] and not local.mdns.active  # loopback: no mDNS at all
        await until(lambda: any("ciel-test-lan" in n for n in seen), 15, "the browser sees the LAN server")
        info = AsyncServiceInfo("_oscjson._tcp.local.", remote.mdns.names[0])
        assert await info.async_request(browser_zc.zeroconf, 3000)
        assert info.port == remote.port and info.parsed_addresses() == [lan]
        osc = AsyncServiceInfo("_osc._udp.local.", remote.mdns.names[1])
        assert await osc.async_request(browser_zc.zeroconf, 3000) and osc.port == 9100
        assert not any("loopback" in n for n in seen)
        await remote.stop()
        assert remote.mdns.names == []
        await until(lambda: seen.get(info.name) == "Removed", 10, "the service withdrawn at stop")
    finally:
        await browser.async_cancel()
        await browser_zc.async_close()
        await local.stop()
        await remote.stop()


def _listening_tcp_ports() -> set[int]:
    """TCP ports this process listens on."""
    return {local for local, _, state in tcp_sockets() if state == "0A"}


async def test_oscquery_off_starts_nothing(tmp_path: Path, tiny_checkpoints) -> None:
    before = _listening_tcp_ports()
    config, port = oscquery_config(tmp_path / "on", tiny_checkpoints)
    async with running_node(config, first_piece=False) as r:
        assert _listening_tcp_ports() - before == {r.osc_port, r.web_port, port}  # the check sees it when on
    off = node_config(tmp_path / "off", tiny_checkpoints, oscquery="off")
    async with running_node(off, first_piece=False) as r:
        assert _listening_tcp_ports() - before == {r.osc_port, r.web_port}


def test_busy_oscquery_port_is_one_line_and_exit_2(tmp_path: Path, tiny_checkpoints) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "ciel_node", "run", "--state-dir", str(tmp_path / "s"),
                               "--audio-checkpoint", str(tiny_checkpoints[0]), "--image-checkpoint",
                               str(tiny_checkpoints[1]), "--osc", "127.0.0.1:0", "--web", "127.0.0.1:0",
                               "--no-playback", "--log-level", "warning", "--oscquery", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert lines == [f"ciel-node: error: OSCQuery port 127.0.0.1:{port} is busy; pick another with --oscquery "
                     "HOST:PORT, or --oscquery off"], proc.stderr


async def test_next_takes_the_impulse_oscquery_declares(tmp_path: Path, tiny_checkpoints) -> None:
    config, _ = oscquery_config(tmp_path, tiny_checkpoints)
    async with running_node(config) as r, OscDump() as dump:
        await oscsend(r.osc_port, "/ciel/subscribe", "i", dump.port)
        seq = r.node.media.last_seq
        await oscsend(r.osc_port, "/ciel/next", "I")  # TYPE "I": what ossia sends for it
        await until(lambda: r.node.media.last_seq > seq, 30, "a piece after /ciel/next I")
        await oscsend(r.osc_port, "/ciel/next", "N")
        await until(lambda: r.node.media.last_seq > seq + 1, 30, "a piece after /ciel/next N")
        assert dump.count("/ciel/error") == 0, dump.lines


def _listed(value: object) -> tuple[object, ...]:
    return value if isinstance(value, tuple) else (value,)

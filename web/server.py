"""The HTTP server's own guard: a connection must finish sending its request headers in time.

uvicorn bounds an idle keep-alive connection, but not a new one that sends its headers slowly or
never (half-open connections pile up: 500 held for 32 s in a test). :func:`bounded_headers` makes
uvicorn's h11 protocol close a connection whose request headers are not complete within the limit.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def bounded_headers(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol (pass it as ``http=``) closing connections that take over ``seconds`` to send
    a request's headers, counted from the connection's start or from the end of the previous response."""

    class BoundedHeadersH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(seconds, self._too_slow)

        def _too_slow(self) -> None:
            # IDLE: no complete request yet on this connection (or since the last response).
            waiting = self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return BoundedHeadersH11

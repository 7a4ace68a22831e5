"""The HTTP server's own guards, below the app: time limits on a request's headers and body, a cap on the
connections of one address, and proxy headers trusted only from the proxies named.

uvicorn bounds an idle keep-alive connection, but not a new one that sends its headers slowly or never
(half-open connections pile up: 500 held for 32 s in a test), nor a request whose body trickles in (200
POSTs sending a byte a second were all still open after 60 s), nor how many connections one address holds.
:func:`guarded_h11` makes uvicorn's h11 protocol close such connections; :func:`server_options` are the
uvicorn options ``qa serve`` runs with (and the tests start), with these guards and no proxy trusted
unless ``QA_FORWARDED_ALLOW_IPS`` names it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa.settings import Settings
from web.limits import client_key

log = logging.getLogger(__name__)

_TOO_MANY = b"Too many connections from your address at once: close one and try again.\n"
TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"retry-after: 1\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_MANY), _TOO_MANY)
)


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one connection may take: ``header_timeout_s`` to send a request's headers (from the connection's
    start or the end of the previous response), ``body_timeout_s`` to send its body (from the end of its
    headers), and at most ``per_client`` connections open at once from one address (0: no cap) unless
    ``uncapped`` says the address is a trusted proxy, whose connections carry many clients."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    per_client: int = 50
    uncapped: Callable[[str], bool] = lambda _address: False


def trusted(addresses: str | None) -> Callable[[str], bool]:
    """Whether a peer address is one of ``addresses`` (comma-separated addresses and networks; ``*``: any)."""
    if not addresses:
        return lambda _address: False
    items = [item.strip() for item in addresses.split(",") if item.strip()]
    if "*" in items:
        return lambda _address: True
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # a host name or a socket path: uvicorn matches those literally
    literals = frozenset(items)

    def check(address: str) -> bool:
        if address in literals:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in networks)

    return check


def guarded_h11(limits: ConnectionLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol (pass it as ``http=``) with ``limits``: a connection whose request headers or body
    take too long is closed (a body cut short is seen by the app as a disconnect), and a connection past the
    cap of its address is answered 503 and closed at once, while other addresses are served."""
    open_by_address: dict[str, int] = {}  # this server's connections per peer address (one event loop: no lock)

    class GuardedH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _counted: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows BaseTransport to Transport
            super().connection_made(transport)
            peer = self.client[0] if self.client else ""
            if limits.per_client and not limits.uncapped(peer):
                address = client_key(peer)  # an IPv6 client is counted by its /64, as the rate limits count it
                if open_by_address.get(address, 0) >= limits.per_client:
                    log.debug("refused a connection from %s: %d already open", address, limits.per_client)
                    transport.write(TOO_MANY)
                    transport.close()
                    return
                open_by_address[address] = open_by_address.get(address, 0) + 1
                self._counted = address
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            for timer in (self._header_timer, self._body_timer):
                if timer is not None:
                    timer.cancel()
            if self._counted is not None:
                left = open_by_address.get(self._counted, 1) - 1
                if left > 0:
                    open_by_address[self._counted] = left
                else:
                    open_by_address.pop(self._counted, None)
                self._counted = None
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_timer()

        def handle_events(self) -> None:
            super().handle_events()
            # SEND_BODY: a request's headers have come and its body has not all come; the clock runs from then.
            if self.conn.their_state is h11.SEND_BODY:
                if self._body_timer is None:
                    self._body_timer = self.loop.call_later(limits.body_timeout_s, self._body_too_slow)
            elif self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _arm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(limits.header_timeout_s, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            # IDLE: no complete request yet on this connection (or since the last response).
            waiting = self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)
            if waiting and not self.transport.is_closing():
                self.transport.close()

        def _body_too_slow(self) -> None:
            self._body_timer = None
            if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
                return
            if self.flow.read_paused:  # the server stopped reading (its buffer is full): not the client's delay
                self._body_timer = self.loop.call_later(limits.body_timeout_s, self._body_too_slow)
                return
            log.debug(
                "closed a connection from %s: its request body took over %s s", self.client, limits.body_timeout_s
            )
            self.transport.close()

    return GuardedH11


def limits_of(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        per_client=settings.max_connections_per_client,
        uncapped=trusted(settings.forwarded_allow_ips),
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for ``qa serve`` (``uvicorn.run(app, host=..., port=..., **server_options(settings))``):
    the guards of :func:`limits_of`, and ``X-Forwarded-For`` believed only from the addresses in
    ``QA_FORWARDED_ALLOW_IPS``. None by default: uvicorn would believe 127.0.0.1, and then any local client
    could pick the address that the rate limits count it under."""
    proxies = settings.forwarded_allow_ips
    return {
        # uvicorn's own access log prints query strings (the questions of GET /?q=...): ours replaces it.
        "access_log": False,
        "proxy_headers": bool(proxies),
        **({"forwarded_allow_ips": proxies} if proxies else {}),
        "http": guarded_h11(limits_of(settings)),
    }

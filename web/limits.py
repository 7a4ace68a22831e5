"""Rate limits of the web app: how often one client, and everyone, may do something."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque


def client_key(address: str) -> str:
    """The key a client is counted under: its IPv4 address, or the /64 network of its IPv6 address (one
    machine usually holds a whole /64, and could otherwise take a fresh address for every try)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class RateGuard:
    """Events (wrong admin keys, feedback sent) counted per client address and, when ``overall`` is given, in
    all: past ``per_client`` (or ``overall``) of them within ``window_s`` seconds, that client (or anyone) must
    wait until the window has passed (429), so that nothing can be done at request speed.

    The address is the connection's peer (``request.client``), which is the client's own unless ``qa serve``
    was told to believe a reverse proxy's ``X-Forwarded-For`` (``QA_FORWARDED_ALLOW_IPS``)."""

    def __init__(self, per_client: int, overall: int | None = None, window_s: float = 60.0) -> None:
        self.per_client, self.overall, self.window_s = per_client, overall, window_s
        self._lock = threading.Lock()
        self._by_client: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _recent(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def wait_s(self, client: str) -> float:
        """Seconds ``client`` must wait before its next try (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            limits = [(self._recent(self._by_client.get(client_key(client), deque()), now), self.per_client)]
            if self.overall is not None:
                limits.append((self._recent(self._all, now), self.overall))
            waits = [times[0] + self.window_s - now for times, limit in limits if len(times) >= limit]
            return max(waits, default=0.0)

    def count(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._by_client) > 10_000:  # bounded memory: forget clients with nothing recent
                self._by_client = {c: t for c, t in self._by_client.items() if self._recent(t, now)}
            self._by_client.setdefault(client_key(client), deque()).append(now)
            if self.overall is not None:
                self._all.append(now)

"""Rate limits of the web app: how often one client, and everyone, may do something."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateGuard:
    """Events (wrong admin keys, feedback sent) counted per client address and in all: past ``per_client``
    (or ``overall``) of them within ``window_s`` seconds, that client (or anyone) must wait until the
    window has passed (429), so that nothing can be done at request speed."""

    def __init__(self, per_client: int, overall: int, window_s: float = 60.0) -> None:
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
            mine = self._recent(self._by_client.get(client, deque()), now)
            everyone = self._recent(self._all, now)
            waits = [
                times[0] + self.window_s - now
                for times, limit in ((mine, self.per_client), (everyone, self.overall))
                if len(times) >= limit
            ]
            return max(waits, default=0.0)

    def count(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._by_client) > 10_000:  # bounded memory: forget clients with nothing recent
                self._by_client = {c: t for c, t in self._by_client.items() if self._recent(t, now)}
            self._by_client.setdefault(client, deque()).append(now)
            self._all.append(now)

"""A Milvus standalone server on this machine, for the tests and ``qa bench parity``: the ``milvus`` package's.

The ``server`` extra (``pip install -e '.[server]'``, installed by CI) ships Milvus 2.3's standalone binary
(``milvus.MilvusServer``). :class:`LocalMilvus` runs one on a free port with its data in a folder of its own,
and can stop it, kill it (``kill -9``: nothing flushed, nothing said) and start it again on the same port and
data, as an operator's restart would. Milvus 2.3 has no BM25 function: indexes built into it keep their
lexical side local (:func:`index.milvus.capabilities`).

``python -m eval.milvus_server DATA_DIR`` runs one in the foreground and prints its URI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PACKAGE = "milvus"  # the pinned `server` extra in pyproject.toml
MISSING = "the Milvus standalone server is not installed (pip install -e '.[server]'; CI installs it)"


def available() -> bool:
    """Whether the ``milvus`` package (the server binary) is installed."""
    import importlib.util

    return importlib.util.find_spec(PACKAGE) is not None


class LocalMilvus:
    """One Milvus standalone process: ``start``, ``stop``, ``kill`` and ``start`` again on the same port and data."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self._server: Any = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        proc = self._server.server_proc if self._server is not None else None
        return int(proc.pid) if proc is not None else None

    def start(self) -> float:
        """Start the server and wait until it answers; the seconds it took."""
        from milvus import MilvusServer

        began = time.perf_counter()
        server = MilvusServer(_config(), proxy_port=self.port)
        server.set_base_dir(str(self.data_dir))
        server.start()  # waits for its health check
        self._server = server
        log.info("Milvus standalone at %s (pid %s, data %s)", self.uri, self.pid, self.data_dir)
        return time.perf_counter() - began

    def kill(self) -> None:
        """``kill -9`` the server: it gets no chance to flush or close anything."""
        if self._server is None or self._server.server_proc is None:
            return
        proc = self._server.server_proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        self._forget()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after its grace period)."""
        if self._server is not None:
            proc = self._server.server_proc
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except Exception:
                    proc.kill()
                    proc.wait(timeout=10)
            self._forget()

    def _forget(self) -> None:
        server, self._server = self._server, None
        server.server_proc = None
        for f in server.proc_fds.values():
            f.close()
        server.proc_fds.clear()

    def __enter__(self) -> LocalMilvus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _config() -> Any:
    """The package's configuration, but its check that a port is free tolerates the TIME_WAIT connections a
    killed server leaves (SO_REUSEADDR, as Milvus itself binds), so that it restarts on the same port at once."""
    from milvus import MilvusServerConfig

    class Config(MilvusServerConfig):  # type: ignore[misc]
        def try_bind_port(self, port: int) -> socket.socket | None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen()
                return sock
            except OSError:
                sock.close()
                return None

    return Config()


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m eval.milvus_server DATA_DIR", file=sys.stderr)
        return 2
    if not available():
        print(f"eval.milvus_server: {MISSING}", file=sys.stderr)
        return 1
    server = LocalMilvus(Path(args[0]))
    seconds = server.start()
    print(f"Milvus standalone at {server.uri} (pid {server.pid}), up in {seconds:.1f} s; Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

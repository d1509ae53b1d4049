"""A TCP proxy on loopback that can freeze chosen connections: bytes stop flowing both ways
while both sockets stay open, as on a half-open connection after a network partition.

Put it between a worker and Redis and freeze the connection that sent BRPOP: the worker's
consumer then waits for ever while the process, its other connections and its heartbeat stay
healthy. That is the "there but deaf" worker of celery#4453, made on demand.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from herald.embedded import free_port


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    #: Every byte the client sent (commands), to find the connection to freeze.
    sent: bytearray = field(default_factory=bytearray)
    frozen: threading.Event = field(default_factory=threading.Event)


class FreezeProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.port = free_port()
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._closed = threading.Event()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> FreezeProxy:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def stop(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            for link in self._links:
                for s in (link.client, link.server):
                    with contextlib.suppress(OSError):
                        s.close()
            self._links.clear()

    def freeze(self, marker: bytes) -> int:
        """Freeze every open connection whose client has sent ``marker`` (e.g. ``b"BRPOP"``);
        connections opened later flow normally. Returns how many were frozen."""
        with self._lock:
            hits = [link for link in self._links if marker in link.sent]
        for link in hits:
            link.frozen.set()
        return len(hits)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, False), daemon=True).start()

    def _pump(self, link: _Link, upstream: bool) -> None:
        src, dst = (link.client, link.server) if upstream else (link.server, link.client)
        while not self._closed.is_set():
            try:
                data = src.recv(65536)
            except OSError:
                break
            if not data:
                break
            if upstream and len(link.sent) < 1 << 16:
                link.sent += data
            if link.frozen.is_set():
                # Half-open: keep the sockets, drop the bytes, never answer again.
                link.frozen.wait()
                continue
            try:
                dst.sendall(data)
            except OSError:
                break
        if not link.frozen.is_set():
            for s in (link.client, link.server):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

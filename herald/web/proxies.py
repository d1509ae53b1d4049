"""Reverse proxies: who the client really is, and whether it spoke https, believed only when the
request came from an address in ``HERALD_TRUSTED_PROXIES``.

A proxy in front of Herald (nginx, Caddy, a load balancer) ends TLS and connects over plain
http; it says what the client used in ``X-Forwarded-Proto`` and who the client was in
``X-Forwarded-For``. Anyone can send those headers, so they are read only from a trusted peer:
otherwise a client could claim another address (and dodge the sign-in throttle per address) or
claim https. Run uvicorn with ``proxy_headers=False`` so that this middleware alone decides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """A comma list of addresses or CIDR networks. Raises ValueError naming a bad entry."""
    out: list[Network] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"HERALD_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(out)


class TrustedProxies:
    """The networks whose forwarding headers are believed."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:  # not an address (a Unix socket path, a test client's name)
            return False
        return any(ip in net for net in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: the nearest address in ``X-Forwarded-For`` that is not one of
        our proxies (earlier entries could have been written by the client itself)."""
        if forwarded_for is None or not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer


class ProxyHeaders:
    """Sets the request's scheme and client address from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxies.networks:
            peer = scope.get("client")
            if peer and self.proxies.trusts(peer[0]):
                headers = Headers(scope=scope)
                scope = dict(scope)
                proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
                if proto in ("http", "https"):
                    scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")
                client = self.proxies.client(peer[0], headers.get("x-forwarded-for"))
                scope["client"] = (client, peer[1] if client == peer[0] else 0)
        await self.app(scope, receive, send)

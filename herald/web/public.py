"""The public face: only the photo URLs that platforms fetch themselves (Instagram, Threads
download a post's photos from ``{HERALD_PUBLIC_URL}/p/<token>``) and a bare health answer.

Run it as its own process (``herald photos``) on the address the internet reaches, and keep
the web app (sign-in, pages, the API) on a private one. The tokens are unguessable and expire
with the delivery; the bytes are the stripped, publish-ready rendition, never an original.
Nothing else of Herald answers here: every other path is 404.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from herald.core.settings import Settings, get_settings
from herald.runtime import service
from herald.service import Herald
from herald.web.auth import public
from herald.web.deps import ServiceHolder
from herald.web.middleware import AllowedHosts, BodyLimit, SecurityHeaders
from herald.web.routes import media

#: Photo URLs are fetched with GET; nothing here takes a body.
PUBLIC_BODY_LIMIT = 0


def public_hosts(settings: Settings) -> list[str]:
    """The host names the photo server answers to: the public URL's, and the allowed ones."""
    hosts = [h.strip() for h in settings.allowed_hosts.split(",") if h.strip()]
    public_host = urlsplit(settings.public_url).hostname
    if public_host:
        hosts.append(public_host)
    return hosts


def create_public_app(service_: Herald | None = None, *, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Herald photos", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = ServiceHolder(service_, service)
    app.add_middleware(BodyLimit, limits={}, default=PUBLIC_BODY_LIMIT)
    app.add_middleware(AllowedHosts, hosts=public_hosts(settings))
    app.add_middleware(SecurityHeaders)
    app.include_router(media.router)

    @app.get("/healthz", dependencies=[Depends(public)])
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    return app

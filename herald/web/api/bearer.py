"""The API's security scheme as the OpenAPI document declares it: a personal API token in
``Authorization: Bearer <token>`` on every operation.

The scheme only declares; it never refuses (``auto_error=False``). Who is asking is decided by
``herald.web.auth`` (a token, else a signed-in browser's session with its CSRF header), which
raises ``NotSignedIn`` (401) and ``AccessDenied`` (403).
"""

from __future__ import annotations

from fastapi import Security
from fastapi.security import HTTPBearer

bearer_scheme = HTTPBearer(
    scheme_name="token",
    bearerFormat="herald API token",
    description="A personal API token (`herald token create`), as `Authorization: Bearer <token>`.",
    auto_error=False,
)

#: Put on the API's router: every operation declares the scheme.
BearerDeclared = Security(bearer_scheme)

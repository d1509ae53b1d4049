"""An AT Protocol client for one account over plain XRPC: the app-password session and the
calls made with it.

**Session.** ``createSession`` is limited to 30 per 5 minutes and 300 per day per account, so a
client logs in once and keeps the session (access and refresh JWTs, in memory only, never
logged or put in a message) for its whole life. The access JWT's ``exp`` claim (the payload is
decoded without checking the signature: the PDS checks it, Herald only needs the time) decides
when to refresh: within ``REFRESH_MARGIN_SECONDS`` of expiry. A call refused with
``ExpiredToken``, ``InvalidToken`` or 401 also refreshes, then is sent once more. A refresh that
is refused logs in again; a login that is refused is an ``AuthError``.

**PDS.** Logging in goes to the configured base URL (``bsky.social``, the "entryway"); every
later call goes to the account's own PDS, named in the session's ``didDoc``
(``#atproto_pds`` service). An ``http://`` PDS is only followed from an ``http://`` base URL
(the simulator): a real session is never moved off TLS.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import requests

from herald.core.errors import AuthError, PermanentError, PlatformError, RetryableError
from herald.core.secret import Secret
from herald.platforms import http

log = logging.getLogger(__name__)

#: Refresh the session when the access JWT expires within this many seconds. Access JWTs live
#: about two hours (digest, "Auth"); five minutes covers a slow upload of four photos.
REFRESH_MARGIN_SECONDS = 300.0
#: XRPC error names that mean "this access token is no good": refresh and try again.
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (Unix seconds), read without verifying the signature; ``None``
    if the token is not a JWT with a numeric ``exp``."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):  # bad base64, not UTF-8, not JSON
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    return float(exp)


@dataclass(frozen=True)
class AtSession:
    """A logged-in session: the two JWTs (never logged), the account's DID and handle."""

    access_jwt: str
    refresh_jwt: str
    did: str
    handle: str
    #: When the access JWT expires (Unix seconds), or None if it does not say.
    expires_at: float | None


class TokenRejected(AuthError):
    """The access token was refused (expired, revoked, malformed): refresh and try once more."""


class RecordNotFound(PermanentError):
    """``getRecord`` answered ``RecordNotFound``: the record certainly does not exist."""


class XrpcClient:
    """One account's session and its XRPC calls (see the module)."""

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        handle: str,
        password: Secret,
        http_session: requests.Session,
        timeout: tuple[float, float],
        credential_values: Sequence[str],
    ) -> None:
        self.platform = platform
        self.base_url = base_url
        self.handle = handle
        self.password = password
        self.http = http_session
        self.timeout = timeout
        self.credential_values = tuple(credential_values)
        #: Where authenticated calls go: the account's PDS once a session names it.
        self.pds_url = base_url
        self.auth: AtSession | None = None

    def ensure(self) -> AtSession:
        if self.auth is None:
            self._create()
        else:
            expires_at = self.auth.expires_at
            if expires_at is not None and expires_at - time.time() < REFRESH_MARGIN_SECONDS:
                self._refresh()
        assert self.auth is not None  # set by both calls above or they raised
        return self.auth

    def _create(self) -> None:
        """``createSession`` with the app password. Any refusal is an ``AuthError``: wrong
        password, revoked app password, account taken down or asking for a second factor all
        need a person."""
        try:
            response = self._post_session(
                "com.atproto.server.createSession",
                json={"identifier": self.handle, "password": self.password.reveal()},
            )
        except AuthError:
            raise
        except PermanentError as exc:
            raise AuthError(self.platform, f"login refused: {exc.detail}", status=exc.status) from exc
        self._take_session(http.response_json(response), "createSession")

    def _refresh(self) -> None:
        """``refreshSession`` with the refresh JWT (it rotates: both tokens are replaced). If the
        refresh is refused, log in again; a refresh that got no answer is raised."""
        assert self.auth is not None
        try:
            response = self._post_session("com.atproto.server.refreshSession", bearer=self.auth.refresh_jwt)
        except PermanentError as exc:
            log.info(
                "session refresh refused; logging in again platform=%s status=%s",
                self.platform,
                exc.status,
                extra={"platform": self.platform},
            )
            self.auth = None
            self._create()
            return
        self._take_session(http.response_json(response), "refreshSession")

    def _post_session(
        self, nsid: str, *, json: object = None, bearer: str | None = None
    ) -> requests.Response:
        # Logging in goes to the entryway (the base URL); refreshing to the PDS that issued it.
        root = self.base_url if bearer is None else self.pds_url
        return http.send(
            self.http,
            "POST",
            f"{root}/xrpc/{nsid}",
            platform=self.platform,
            create=False,
            timeout=self.timeout,
            secrets=self.secrets(),
            json=json,
            headers=None if bearer is None else {"Authorization": f"Bearer {bearer}"},
        )

    def _take_session(self, answer: dict[str, object], call: str) -> None:
        access = http.string_at(answer, "accessJwt")
        refresh = http.string_at(answer, "refreshJwt")
        did = http.string_at(answer, "did")
        if not access or not refresh or not did:
            raise RetryableError(self.platform, f"{call} answered without tokens or DID")
        handle = http.string_at(answer, "handle") or self.handle
        self.auth = AtSession(access, refresh, did, handle, jwt_expiry(access))
        pds = pds_endpoint(answer.get("didDoc"))
        if pds is not None and pds != self.pds_url and self._may_follow(pds):
            log.info(
                "using the account's PDS platform=%s pds=%s",
                self.platform,
                pds,
                extra={"platform": self.platform},
            )
            self.pds_url = pds

    def _may_follow(self, pds: str) -> bool:
        """Follow an https PDS always; an http one only from an http base URL (a local
        stand-in), so a session made over TLS never travels in clear text."""
        if pds.startswith("https://"):
            return True
        return pds.startswith("http://") and self.base_url.startswith("http://")

    def secrets(self) -> list[str]:
        """Every secret value a message must never show: the credentials and the tokens."""
        values = list(self.credential_values)
        if self.auth is not None:
            values += [self.auth.access_jwt, self.auth.refresh_jwt]
        return values

    def call(
        self,
        method: str,
        nsid: str,
        *,
        create: bool = False,
        params: Mapping[str, str] | None = None,
        json: object = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> dict[str, object]:
        """One authenticated XRPC call to the PDS. A refused access token is refreshed and the
        call sent once more (the refusal means nothing was applied)."""
        for attempt in (1, 2):
            session = self.ensure()
            headers = {"Authorization": f"Bearer {session.access_jwt}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            try:
                response = http.send(
                    self.http,
                    method,
                    f"{self.pds_url}/xrpc/{nsid}",
                    platform=self.platform,
                    create=create,
                    timeout=self.timeout,
                    secrets=self.secrets(),
                    params=params,
                    json=json,
                    content=content,
                    headers=headers,
                    refine=refine,
                )
            except TokenRejected as exc:
                if attempt == 2:
                    raise AuthError(self.platform, exc.detail, status=exc.status) from exc
                log.info(
                    "access token refused; refreshing platform=%s nsid=%s",
                    self.platform,
                    nsid,
                    extra={"platform": self.platform},
                )
                self._refresh()
                continue
            return http.response_json(response)
        raise AssertionError("unreachable: the second attempt returns or raises")


def refine(response: requests.Response, error: PlatformError) -> PlatformError:
    """XRPC's own error names: an expired or invalid token comes back as HTTP 400, not 401."""
    name = http.string_at(http.response_json(response), "error") or ""
    if name in TOKEN_ERRORS or response.status_code == 401:
        return TokenRejected(error.platform, error.detail, status=error.status)
    if name == "RecordNotFound":
        return RecordNotFound(error.platform, error.detail, status=error.status)
    return error


def pds_endpoint(did_doc: object) -> str | None:
    """The ``#atproto_pds`` service endpoint of a DID document, without a trailing slash."""
    services = http.json_object(did_doc).get("service")
    for service in services if isinstance(services, list) else []:
        entry = http.json_object(service)
        service_id = entry.get("id")
        endpoint = entry.get("serviceEndpoint")
        if isinstance(service_id, str) and service_id.endswith("#atproto_pds") and isinstance(endpoint, str):
            return endpoint.rstrip("/") or None
    return None

"""Bluesky's PDS (AT Protocol XRPC) as a simulator platform, mounted at ``/bluesky``.

Follows shared/platforms.md §3. Every endpoint is ``/bluesky/xrpc/{nsid}``; the didDoc returned
at login points its PDS ``serviceEndpoint`` back at ``{base}/bluesky``, so SDKs that re-base on
it stay on the simulator.

- Sessions: ``com.atproto.server.createSession`` (``identifier`` = handle or DID,
  ``password`` = app password; 30 per 5 min and 300 per day per account, then 429),
  ``refreshSession`` (rotates: the old refresh JWT is revoked), ``getSession``,
  ``deleteSession``. Tokens are JWT-shaped (HS256 over a per-simulator secret) with ``sub`` =
  DID and ``exp``: access JWTs live ``Simulator.bluesky_access_jwt_seconds`` (2 h), refresh JWTs
  90 days. Expired or revoked → 400 ``ExpiredToken``; garbage or the wrong kind of token → 400
  ``InvalidToken``; no token → 401 ``AuthenticationRequired``. Sessions survive ``reset``.
- ``com.atproto.repo.uploadBlob`` (raw body; the MIME type is sniffed from the bytes, else taken
  from Content-Type) → a blob ref with a CID-shaped ``$link``. Size and type are enforced at
  createRecord, as the PDS does: ``BlobTooLarge`` above ``Simulator.bluesky_blob_max_bytes``
  (1,000,000 by default), ``InvalidMimeType`` if not ``image/*`` or not the uploaded type,
  ``BlobNotFound`` if never uploaded by this account.
- ``com.atproto.repo.createRecord``: a client-chosen ``rkey`` must be a TID for
  ``app.bsky.feed.post``; an rkey that already exists answers HTTP 500 ``InternalServerError``,
  as the reference PDS does. Post records are validated like the lexicon (text ≤ 300 graphemes
  and ≤ 3,000 UTF-8 bytes, ``createdAt`` an RFC 3339 datetime with a timezone, ≤ 3 langs,
  ``app.bsky.embed.images`` with ≤ 4 images each with ``alt`` and a blob), and — stricter than
  the PDS, to catch connector bugs — facet byte ranges must lie inside the text on UTF-8
  character boundaries, a tag facet must cover ``#tag`` and a mention facet ``@handle``.
- ``getRecord`` (400 ``RecordNotFound`` when absent), ``listRecords``, ``deleteRecord``,
  ``com.atproto.identity.resolveHandle``, ``app.bsky.actor.getProfile`` and
  ``com.atproto.server.describeServer``.
- ``ratelimit-limit/remaining/reset/policy`` headers (reset in epoch seconds) on every answer.
- Writes cost points per account (a created record 3, a deleted one 1): past 5,000 an hour or
  35,000 a day, 429 ``RateLimitExceeded`` (``herald.simulator.limits``).

Expiring tokens: set ``Simulator.bluesky_access_jwt_seconds`` low, or re-register the account
with ``expires_at`` (epoch seconds, as a string): once that moment has passed, every access JWT
issued before it answers ``ExpiredToken`` while sessions refreshed afterwards work. Changing the
``app_password`` revokes the account's sessions.

Credentials: ``handle``, ``app_password``; the DID is derived from the handle
(``did:plc:`` + 24 base32 characters). Ledger entries: ``remote_id`` is the ``at://`` URI,
``idempotency_key`` the client-chosen rkey, the URL ``{base}/bluesky/profile/{handle}/post/{rkey}``,
``extra`` holds ``uri``, ``cid``, ``rkey``, ``facets`` and ``langs``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import html
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from herald.simulator.graph import parse_expiry
from herald.simulator.limits import Over, PostLimit
from herald.simulator.server import (
    Account,
    BadBody,
    HttpError,
    ImageInfo,
    InvalidImage,
    LedgerEntry,
    LedgerMedia,
    Platform,
    Request,
    Response,
    Simulator,
    StoredMedia,
    ceil_epoch,
    grapheme_length,
    html_response,
    inspect_image,
    iso_utc,
    json_response,
    phrase,
    register_platform,
)

logger = logging.getLogger(__name__)

POST_COLLECTION = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
MAX_LANGS = 3
MAX_TAGS = 8
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640
REFRESH_JWT_SECONDS = 90 * 86_400
#: createSession budget per account: 30 per 5 minutes and 300 per day.
SESSION_LIMITS = ((30, 300.0), (300, 86_400.0))
#: Points a write costs against the account's write limits (``Bluesky.post_limits``).
CREATE_POINTS = 3
DELETE_POINTS = 1
#: Records per listRecords page (default and maximum).
LIST_DEFAULT_LIMIT = 50
LIST_MAX_LIMIT = 100

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_RE = re.compile(r"\A[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}\Z")
_RKEY_RE = re.compile(r"\A[A-Za-z0-9._:~-]{1,512}\Z")
_NSID_RE = re.compile(r"\A[a-zA-Z]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+\Z")
_DID_RE = re.compile(r"\Adid:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]\Z")
_DATETIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")
_URI_RE = re.compile(r"\A[a-zA-Z][a-zA-Z0-9+.-]*:\S+\Z")
_CODEC_DAG_CBOR = 0x71
_CODEC_RAW = 0x55
_ERROR_NAMES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "UpstreamFailure",
    503: "NotEnoughResources",
    504: "UpstreamTimeout",
}
_ERROR_MESSAGES = {
    "AuthenticationRequired": "Authentication Required",
    "RateLimitExceeded": "Rate Limit Exceeded",
    "InternalServerError": "Internal Server Error",
    "MethodNotImplemented": "Method Not Implemented",
    "NotFound": "Not Found",
}


def xrpc_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> HttpError:
    return HttpError(json_response(status, {"error": error, "message": message}, headers=headers))


def invalid(message: str, error: str = "InvalidRequest") -> HttpError:
    return xrpc_error(400, error, message)


def invalid_post(message: str) -> HttpError:
    return invalid(f"Invalid {POST_COLLECTION} record: {message}")


def make_tid(micros: int, clock_id: int) -> str:
    """A TID: 64 bits (top bit 0, 53 bits of microseconds, 10 bits of clock id) in base32-sortable."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_tid(value: str) -> bool:
    return bool(_TID_RE.match(value))


def make_cid(data: bytes, codec: int) -> str:
    """A CIDv1 (sha2-256) in base32, as ``bafyrei...`` (dag-cbor) or ``bafkrei...`` (raw)."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.lower().encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class _Token:
    jti: str
    did: str
    kind: str  # "access" or "refresh"
    issued_at: float
    expires_at: float
    app_password: str
    revoked: bool = False


@dataclass
class _Blob:
    cid: str
    did: str
    data: bytes
    mime_type: str
    info: ImageInfo | None


@dataclass
class _Record:
    uri: str
    cid: str
    did: str
    collection: str
    rkey: str
    value: dict[str, Any]  # Any: the record as the client sent it
    created_at: float
    entry: LedgerEntry | None


@register_platform
class Bluesky(Platform):
    name = "bluesky"
    required_credentials = ("handle", "app_password")
    rate_limit = 3000
    rate_window_seconds = 300.0
    #: Writes per account (DID) in points (docs.bsky.app rate limits): a created record costs
    #: ``CREATE_POINTS``, a deleted one ``DELETE_POINTS``; 5,000 per hour, 35,000 per day.
    post_limits = (
        PostLimit("write points per hour", 5000, 3600.0),
        PostLimit("write points per day", 35_000, 86400.0),
    )

    def __init__(self, sim: Simulator) -> None:
        self._secret = os.urandom(32)
        self._clock_id = int.from_bytes(os.urandom(2), "big") & 0x3FF
        self._last_tid_micros = 0
        self._by_did: dict[str, Account] = {}
        self._by_handle: dict[str, Account] = {}
        self._tokens: dict[str, _Token] = {}
        self._logins: dict[str, list[float]] = {}
        self._blobs: dict[tuple[str, str], _Blob] = {}
        self._records: dict[tuple[str, str, str], _Record] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        procedures = {
            "com.atproto.server.createSession": (self.create_session, True),
            "com.atproto.server.refreshSession": (self.refresh_session, True),
            "com.atproto.server.deleteSession": (self.delete_session, True),
            "com.atproto.repo.uploadBlob": (self.upload_blob, False),
            "com.atproto.repo.createRecord": (self.create_record, False),
            "com.atproto.repo.deleteRecord": (self.delete_record, False),
        }
        queries = {
            "com.atproto.server.getSession": (self.get_session, False),
            "com.atproto.server.describeServer": (self.describe_server, True),
            "com.atproto.repo.getRecord": (self.get_record, True),
            "com.atproto.repo.listRecords": (self.list_records, True),
            "com.atproto.identity.resolveHandle": (self.resolve_handle, True),
            "app.bsky.actor.getProfile": (self.get_profile, True),
        }
        self._methods = dict.fromkeys(procedures, "POST") | dict.fromkeys(queries, "GET")
        for nsid, (handler, public) in procedures.items():
            self.route("POST", f"/xrpc/{nsid}", handler, public=public)
        for nsid, (handler, public) in queries.items():
            self.route("GET", f"/xrpc/{nsid}", handler, public=public)
        self.route("GET", "/profile/{handle}/post/{rkey}", self.public_page, public=True)

    # -- platform hooks --------------------------------------------------------------------

    def validate_credentials(self, credentials: Mapping[str, str]) -> None:
        super().validate_credentials(credentials)
        parse_expiry(self.name, credentials)

    def index_accounts(self, accounts: list[Account]) -> None:
        self._by_did = {did_for(a.credentials["handle"]): a for a in accounts}
        self._by_handle = {a.credentials["handle"].lower(): a for a in accounts}

    def reset(self) -> None:
        # Sessions are kept, like accounts: a connector's stored session stays valid.
        super().reset()
        self._logins.clear()
        self._blobs.clear()
        self._records.clear()

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/xrpc/"):
            nsid = request.path[len("/xrpc/") :]
            expected = self._methods.get(nsid)
            if expected is not None:
                return json_response(
                    400,
                    {
                        "error": "InvalidRequest",
                        "message": f"Incorrect HTTP method ({request.method}) expected {expected}",
                    },
                )
            return json_response(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        return json_response(404, {"error": "NotFound", "message": "Not Found"})

    def error_response(self, status: int) -> Response:
        name = _ERROR_NAMES.get(status, "InternalServerError" if status >= 500 else "InvalidRequest")
        return json_response(status, {"error": name, "message": _ERROR_MESSAGES.get(name, phrase(status))})

    def rate_limited_body(self) -> Response:
        return json_response(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(ceil_epoch(reset_at)),
            "ratelimit-policy": f"{limit};w={int(self.rate_window_seconds)}",
        }

    def post_limit_response(self, over: Over, now: float) -> Response:
        response = super().post_limit_response(over, now)
        response.headers["ratelimit-policy"] = f"{over.limit.posts};w={int(over.limit.window_seconds)}"
        return response

    # -- tokens ----------------------------------------------------------------------------

    def _issue(self, account: Account, kind: str, now: float) -> str:
        did = did_for(account.credentials["handle"])
        life = self.sim.bluesky_access_jwt_seconds if kind == "access" else REFRESH_JWT_SECONDS
        jti = uuid.uuid4().hex
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "HS256"}
        payload = {
            "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
            "sub": did,
            "aud": f"did:web:{self.sim.host}",
            "jti": jti,
            "iat": int(now),
            "exp": int(now + life),
        }
        signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(payload).encode())
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        self._tokens[jti] = _Token(jti, did, kind, now, now + life, account.credentials["app_password"])
        return signing_input + "." + _b64url(signature)

    def _verify(self, token: str, kind: str) -> tuple[Account, _Token]:
        unverifiable = invalid("Token could not be verified", "InvalidToken")
        parts = token.split(".")
        if len(parts) != 3:
            raise unverifiable
        signing_input = (parts[0] + "." + parts[1]).encode()
        try:
            signature = _unb64url(parts[2])
            payload = json.loads(_unb64url(parts[1]))
        except (ValueError, UnicodeDecodeError):
            raise unverifiable from None
        expected = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected) or not isinstance(payload, dict):
            raise unverifiable
        with self.sim.lock:
            record = self._tokens.get(str(payload.get("jti")))
            account = self._by_did.get(record.did) if record is not None else None
        if record is None or account is None:
            raise unverifiable
        if record.kind != kind:
            raise invalid("Invalid token type", "InvalidToken")
        if record.revoked or record.app_password != account.credentials["app_password"]:
            raise invalid("Token has been revoked", "ExpiredToken")
        now = time.time()
        expires_at = parse_expiry(self.name, account.credentials)
        stale = kind == "access" and expires_at is not None and record.issued_at < expires_at <= now
        if now >= record.expires_at or stale:
            raise invalid("Token has expired", "ExpiredToken")
        return account, record

    @staticmethod
    def _bearer(request: Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        return token.strip()

    def authenticate(self, request: Request) -> Account:
        account, _ = self._verify(self._bearer(request), "access")
        return account

    # -- sessions --------------------------------------------------------------------------

    def _did_doc(self, account: Account) -> dict[str, Any]:
        did = did_for(account.credentials["handle"])
        key = (
            "zQ3sh"
            + base64.b32encode(hashlib.sha256(did.encode()).digest()).decode().lower().rstrip("=")[:44]
        )
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/suites/secp256k1-2019/v1",
            ],
            "id": did,
            "alsoKnownAs": [f"at://{account.credentials['handle']}"],
            "verificationMethod": [
                {"id": f"{did}#atproto", "type": "Multikey", "controller": did, "publicKeyMultibase": key}
            ],
            "service": [
                {
                    "id": "#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": f"{self.sim.base_url}/bluesky",
                }
            ],
        }

    def _session_json(self, account: Account, now: float, *, tokens: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "did": did_for(account.credentials["handle"]),
            "handle": account.credentials["handle"],
            "didDoc": self._did_doc(account),
            "active": True,
        }
        if tokens:
            with self.sim.lock:
                payload["accessJwt"] = self._issue(account, "access", now)
                payload["refreshJwt"] = self._issue(account, "refresh", now)
        return payload

    def _count_login(self, account: Account, now: float) -> None:
        with self.sim.lock:
            attempts = [t for t in self._logins.get(account.id, []) if t > now - SESSION_LIMITS[-1][1]]
            for limit, window in SESSION_LIMITS:
                recent = [t for t in attempts if t > now - window]
                if len(recent) >= limit:
                    reset_at = recent[0] + window
                    headers = {
                        "ratelimit-limit": str(limit),
                        "ratelimit-remaining": "0",
                        "ratelimit-reset": str(ceil_epoch(reset_at)),
                        "ratelimit-policy": f"{limit};w={int(window)}",
                    }
                    raise xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
            attempts.append(now)
            self._logins[account.id] = attempts

    def create_session(self, request: Request) -> Response:
        data = _input(request)
        identifier = _required(data, "identifier")
        password = _required(data, "password")
        handle = identifier.lower().removeprefix("@")
        account = self._by_did.get(identifier) or self._by_handle.get(handle)
        if account is not None:
            self._count_login(account, time.time())
        if account is None or not hmac.compare_digest(password, account.credentials["app_password"]):
            raise xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        request.account = account
        return json_response(200, self._session_json(account, time.time(), tokens=True))

    def refresh_session(self, request: Request) -> Response:
        account, record = self._verify(self._bearer(request), "refresh")
        request.account = account
        with self.sim.lock:
            record.revoked = True
        return json_response(200, self._session_json(account, time.time(), tokens=True))

    def delete_session(self, request: Request) -> Response:
        _, record = self._verify(self._bearer(request), "refresh")
        with self.sim.lock:
            record.revoked = True
        return Response(200, b"", "application/json")

    def get_session(self, request: Request) -> Response:
        assert request.account is not None
        payload = self._session_json(request.account, time.time(), tokens=False)
        payload["emailConfirmed"] = True
        return json_response(200, payload)

    def describe_server(self, request: Request) -> Response:
        return json_response(
            200,
            {
                "did": f"did:web:{self.sim.host}",
                "availableUserDomains": [".bsky.social"],
                "inviteCodeRequired": True,
                "phoneVerificationRequired": False,
                "links": {},
            },
        )

    def _repo(self, value: str) -> Account | None:
        return self._by_did.get(value) or self._by_handle.get(value.lower().removeprefix("@"))

    def resolve_handle(self, request: Request) -> Response:
        handle = request.query("handle")
        if not handle:
            raise invalid('Params must have the property "handle"')
        account = self._by_handle.get(handle.lower())
        if account is None:
            raise invalid("Unable to resolve handle")
        return json_response(200, {"did": did_for(account.credentials["handle"])})

    def get_profile(self, request: Request) -> Response:
        actor = request.query("actor")
        if not actor:
            raise invalid('Params must have the property "actor"')
        account = self._repo(actor)
        if account is None:
            raise invalid("Profile not found")
        did = did_for(account.credentials["handle"])
        with self.sim.lock:
            posts = sum(
                1
                for (owner, collection, _) in self._records
                if owner == did and collection == POST_COLLECTION
            )
        return json_response(
            200,
            {
                "did": did,
                "handle": account.credentials["handle"],
                "displayName": account.username,
                "description": "",
                "followersCount": 0,
                "followsCount": 0,
                "postsCount": posts,
                "indexedAt": iso_utc(0),
                "createdAt": iso_utc(0),
                "labels": [],
            },
        )

    # -- blobs -----------------------------------------------------------------------------

    def upload_blob(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        declared = request.content_type
        if not declared:
            raise invalid("Request encoding (Content-Type) required but not provided")
        if not request.body:
            raise invalid("Request body is empty")
        data = request.body
        try:
            info: ImageInfo | None = inspect_image(data)
        except InvalidImage:
            info = None
        # The PDS sniffs the type from the bytes and trusts the header only when it cannot.
        mime = info.mime_type if info is not None else declared
        did = did_for(account.credentials["handle"])
        cid = make_cid(data, _CODEC_RAW)
        with self.sim.lock:
            self._blobs[(did, cid)] = _Blob(cid, did, data, mime, info)
        return json_response(200, {"blob": _blob_ref(cid, mime, len(data))})

    # -- records ---------------------------------------------------------------------------

    def _next_tid(self) -> str:
        with self.sim.lock:
            micros = max(int(time.time() * 1_000_000), self._last_tid_micros + 1)
            self._last_tid_micros = micros
        return make_tid(micros, self._clock_id)

    def _own_repo(self, request: Request, repo: str) -> tuple[Account, str]:
        account = request.account
        assert account is not None
        did = did_for(account.credentials["handle"])
        if (
            repo not in (did, account.credentials["handle"])
            and repo.lower() != account.credentials["handle"].lower()
        ):
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        return account, did

    def create_record(self, request: Request) -> Response:
        data = _input(request)
        account, did = self._own_repo(request, _required(data, "repo"))
        collection = _required(data, "collection")
        if not _NSID_RE.match(collection):
            raise invalid(f"Invalid collection: {collection}")
        record = data.get("record")
        if not isinstance(record, dict):
            raise invalid('Input must have the property "record"')
        rkey = data.get("rkey")
        client_rkey = rkey is not None
        if rkey is not None and (
            not isinstance(rkey, str) or not _RKEY_RE.match(rkey) or rkey in (".", "..")
        ):
            raise invalid(f"Invalid record key: {rkey}")
        if collection == POST_COLLECTION and rkey is not None and not is_tid(rkey):
            raise invalid(f"Invalid record key for {POST_COLLECTION}: expected a TID, got {rkey}")
        record_type = record.get("$type")
        if record_type is None:
            record = {"$type": collection, **record}
        elif record_type != collection:
            raise invalid(f"Invalid $type: expected {collection}, got {record_type}")
        validate = data.get("validate")
        validated = collection == POST_COLLECTION and validate is not False
        if validated:
            _validate_post(record, self._by_did)
        rkey = rkey or self._next_tid()
        now = time.time()
        with self.sim.lock:
            key = (did, collection, rkey)
            if key in self._records:
                # The reference PDS fails the commit on an existing key (indigo#873): a bare 500.
                logger.info("bluesky duplicate rkey", extra={"platform": self.name, "rkey": rkey})
                raise xrpc_error(500, "InternalServerError", "Internal Server Error")
            media = self._record_blobs(did, record)
            self.count_post(account, cost=CREATE_POINTS, now=now)
            cid = make_cid(json.dumps(record, sort_keys=True, ensure_ascii=False).encode(), _CODEC_DAG_CBOR)
            uri = f"at://{did}/{collection}/{rkey}"
            entry = None
            if collection == POST_COLLECTION:
                handle = account.credentials["handle"]
                entry = LedgerEntry(
                    platform=self.name,
                    account=account.username,
                    remote_id=uri,
                    url=f"{self.sim.base_url}/bluesky/profile/{handle}/post/{rkey}",
                    text=str(record.get("text", "")),
                    media=tuple(media),
                    idempotency_key=rkey if client_rkey else None,
                    received_at=now,
                    extra={
                        "uri": uri,
                        "cid": cid,
                        "rkey": rkey,
                        "facets": record.get("facets") or [],
                        "langs": record.get("langs") or [],
                        **_reply_extra(record.get("reply")),
                    },
                )
                self.sim.commit(entry)
            self._records[key] = _Record(uri, cid, did, collection, rkey, record, now, entry)
            commit = {"cid": make_cid(uri.encode() + cid.encode(), _CODEC_DAG_CBOR), "rev": self._next_tid()}
        return json_response(
            200,
            {
                "uri": uri,
                "cid": cid,
                "commit": commit,
                "validationStatus": "valid" if validated else "unknown",
            },
        )

    def _record_blobs(self, did: str, record: dict[str, Any]) -> list[LedgerMedia]:
        """Check every blob the record references; return the post images for the ledger."""
        images = []
        embed = record.get("embed")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
            images = [i for i in embed.get("images", []) if isinstance(i, dict)]
        image_refs = {id(i.get("image")): i for i in images}
        media: list[LedgerMedia] = []
        for ref in _blob_refs(record):
            link = _blob_link(ref)
            blob = self._blobs.get((did, link)) if link else None
            if blob is None:
                raise invalid(f"Could not find blob: {link}", "BlobNotFound")
            declared = ref.get("mimeType")
            if isinstance(declared, str) and declared != blob.mime_type:
                raise invalid(
                    "Referenced Mimetype does not match stored blob. "
                    f"Expected: {blob.mime_type}, Got: {declared}",
                    "InvalidMimeType",
                )
            if not blob.mime_type.startswith("image/"):
                raise invalid(
                    f"Wrong type of file. It is {blob.mime_type} but it must match image/*.",
                    "InvalidMimeType",
                )
            limit = self.sim.bluesky_blob_max_bytes
            if len(blob.data) > limit:
                raise invalid(
                    f"This file is too large. It is {_pretty(len(blob.data))} "
                    f"but the maximum size is {_pretty(limit)}.",
                    "BlobTooLarge",
                )
            image = image_refs.get(id(ref))
            if image is not None:
                stored = self._store(blob)
                media.append(dataclasses.replace(stored.ledger_media(), alt_text=str(image.get("alt", ""))))
        return media

    def _store(self, blob: _Blob) -> StoredMedia:
        existing = self.sim.get_media(self.name, blob.cid)
        if existing is not None:
            return existing
        info = blob.info or ImageInfo(
            mime_type=blob.mime_type,
            width=0,
            height=0,
            size=len(blob.data),
            sha256=hashlib.sha256(blob.data).hexdigest(),
            has_exif=False,
            has_gps=False,
            has_xmp=False,
        )
        media = StoredMedia(self.name, blob.cid, blob.did, blob.data, info, time.time())
        self.sim.store_media(media)
        return media

    def get_record(self, request: Request) -> Response:
        repo, collection, rkey = (_param(request, name) for name in ("repo", "collection", "rkey"))
        account = self._repo(repo)
        if account is None:
            raise invalid(f"Could not find repo: {repo}")
        did = did_for(account.credentials["handle"])
        with self.sim.lock:
            record = self._records.get((did, collection, rkey))
        if record is None:
            raise invalid(f"Could not locate record: at://{did}/{collection}/{rkey}", "RecordNotFound")
        return json_response(200, {"uri": record.uri, "cid": record.cid, "value": record.value})

    def list_records(self, request: Request) -> Response:
        repo, collection = _param(request, "repo"), _param(request, "collection")
        account = self._repo(repo)
        if account is None:
            raise invalid(f"Could not find repo: {repo}")
        raw_limit = request.query("limit")
        try:
            limit = int(raw_limit) if raw_limit else LIST_DEFAULT_LIMIT
        except ValueError:
            raise invalid("limit must be an integer") from None
        if not 1 <= limit <= LIST_MAX_LIMIT:
            raise invalid(f"limit must be between 1 and {LIST_MAX_LIMIT}")
        reverse = (request.query("reverse") or "").lower() == "true"
        cursor = request.query("cursor")
        did = did_for(account.credentials["handle"])
        with self.sim.lock:
            records = sorted(
                (r for (owner, coll, _), r in self._records.items() if owner == did and coll == collection),
                key=lambda r: r.rkey,
                reverse=not reverse,
            )
        if cursor:
            records = [r for r in records if (r.rkey > cursor if reverse else r.rkey < cursor)]
        page = records[:limit]
        payload: dict[str, Any] = {"records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in page]}
        if len(records) > limit:
            payload["cursor"] = page[-1].rkey
        return json_response(200, payload)

    def delete_record(self, request: Request) -> Response:
        data = _input(request)
        _, did = self._own_repo(request, _required(data, "repo"))
        collection, rkey = _required(data, "collection"), _required(data, "rkey")
        with self.sim.lock:
            record = self._records.get((did, collection, rkey))
            if record is None:
                return json_response(200, {})
            assert request.account is not None  # _own_repo checked it
            self.count_post(request.account, cost=DELETE_POINTS)
            del self._records[(did, collection, rkey)]
            if record.entry is not None:
                self.sim.mark_deleted(self.name, record.uri)
            commit = {
                "cid": make_cid(b"delete:" + record.uri.encode(), _CODEC_DAG_CBOR),
                "rev": self._next_tid(),
            }
        return json_response(200, {"commit": commit})

    def public_page(self, request: Request) -> Response:
        account = self._repo(request.params["handle"])
        with self.sim.lock:
            record = (
                self._records.get(
                    (did_for(account.credentials["handle"]), POST_COLLECTION, request.params["rkey"])
                )
                if account is not None
                else None
            )
        if account is None or record is None or record.entry is None:
            return html_response(404, "<!doctype html><title>Not found</title><p>Post not found</p>")
        images = "".join(
            f'<img src="/_sim/media/bluesky/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
            for m in record.entry.media
        )
        handle = html.escape(account.credentials["handle"])
        return html_response(
            200,
            "<!doctype html><meta charset='utf-8'>"
            f"<title>@{handle}</title><p><b>@{handle}</b> · {iso_utc(record.created_at)}</p>"
            f"<p style='white-space:pre-wrap'>{html.escape(record.entry.text)}</p>{images}",
        )


# --------------------------------------------------------------------------------------------
# Record validation
# --------------------------------------------------------------------------------------------


def _validate_post(record: dict[str, Any], accounts: dict[str, Account]) -> None:  # Any: client JSON
    text = record.get("text")
    if text is None:
        raise invalid_post('Record must have the property "text"')
    if not isinstance(text, str):
        raise invalid_post("Record/text must be a string")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise invalid_post(f"Record/text must not be longer than {MAX_TEXT_BYTES} characters")
    if grapheme_length(text) > MAX_GRAPHEMES:
        raise invalid_post(f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
    created = record.get("createdAt")
    if created is None:
        raise invalid_post('Record must have the property "createdAt"')
    if not isinstance(created, str) or not _DATETIME_RE.match(created) or created.endswith("-00:00"):
        raise invalid_post("Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)")
    langs = record.get("langs")
    if langs is not None:
        if not isinstance(langs, list) or not all(isinstance(lang, str) and lang for lang in langs):
            raise invalid_post("Record/langs must be an array of language codes")
        if len(langs) > MAX_LANGS:
            raise invalid_post(f"Record/langs must not have more than {MAX_LANGS} elements")
    tags = record.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise invalid_post(f"Record/tags must not have more than {MAX_TAGS} elements")
        for index, tag in enumerate(tags):
            _check_tag(tag, f"Record/tags/{index}")
    _validate_facets(record.get("facets"), text, accounts)
    embed = record.get("embed")
    if embed is not None:
        _validate_embed(embed)
    reply = record.get("reply")
    if reply is not None:
        _validate_reply(reply)


def _reply_extra(reply: Any) -> dict[str, Any]:  # Any: client JSON, already validated
    """The ledger's note of what a reply answers: {"reply": {"root": uri, "parent": uri}}."""
    if not isinstance(reply, dict):
        return {}
    return {"reply": {"root": reply["root"]["uri"], "parent": reply["parent"]["uri"]}}


def _validate_reply(reply: Any) -> None:  # Any: client JSON
    """app.bsky.feed.post#replyRef: ``root`` and ``parent``, each a com.atproto.repo.strongRef
    (an at:// URI and a CID). Like the PDS, only the shape is checked: a reply to a record that
    does not exist is stored, and the AppView shows it detached."""
    if not isinstance(reply, dict):
        raise invalid_post("Record/reply must be an object")
    for name in ("root", "parent"):
        ref = reply.get(name)
        if ref is None:
            raise invalid_post(f'Record/reply must have the property "{name}"')
        if not isinstance(ref, dict):
            raise invalid_post(f"Record/reply/{name} must be an object")
        uri, cid = ref.get("uri"), ref.get("cid")
        if not isinstance(uri, str) or not uri.startswith("at://") or len(uri) > 8192:
            raise invalid_post(f"Record/reply/{name}/uri must be a valid at-uri")
        if not isinstance(cid, str) or not cid or len(cid) > 200:
            raise invalid_post(f"Record/reply/{name}/cid must be a cid string")


def _check_tag(tag: Any, path: str) -> None:  # Any: client JSON
    if not isinstance(tag, str) or not tag:
        raise invalid_post(f"{path} must be a non-empty string")
    if len(tag.encode("utf-8")) > MAX_TAG_BYTES:
        raise invalid_post(f"{path} must not be longer than {MAX_TAG_BYTES} characters")
    if grapheme_length(tag) > MAX_TAG_GRAPHEMES:
        raise invalid_post(f"{path} must not be longer than {MAX_TAG_GRAPHEMES} graphemes")


def _validate_facets(facets: Any, text: str, accounts: dict[str, Account]) -> None:  # Any: client JSON
    if facets is None:
        return
    if not isinstance(facets, list):
        raise invalid_post("Record/facets must be an array")
    data = text.encode("utf-8")
    for index, facet in enumerate(facets):
        path = f"Record/facets/{index}"
        if not isinstance(facet, dict):
            raise invalid_post(f"{path} must be an object")
        span = facet.get("index")
        if not isinstance(span, dict):
            raise invalid_post(f'{path} must have the property "index"')
        start, end = span.get("byteStart"), span.get("byteEnd")
        for name, value in (("byteStart", start), ("byteEnd", end)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise invalid_post(f"{path}/index/{name} must be an integer")
            if value < 0:
                raise invalid_post(f"{path}/index/{name} can not be less than 0")
        assert isinstance(start, int) and isinstance(end, int)
        if not start < end <= len(data):
            raise invalid_post(
                f"{path}/index must be a non-empty byte range inside the text ({len(data)} bytes)"
            )
        if _splits_character(data, start) or _splits_character(data, end):
            raise invalid_post(f"{path}/index must not split a UTF-8 character")
        covered = data[start:end].decode("utf-8")
        features = facet.get("features")
        if not isinstance(features, list):
            raise invalid_post(f'{path} must have the property "features"')
        for number, feature in enumerate(features):
            _check_feature(feature, covered, f"{path}/features/{number}", accounts)


def _splits_character(data: bytes, position: int) -> bool:
    # A UTF-8 continuation byte (10xxxxxx) never starts a character.
    return position < len(data) and data[position] & 0xC0 == 0x80


def _check_feature(feature: Any, covered: str, path: str, accounts: dict[str, Account]) -> None:  # Any: JSON
    if not isinstance(feature, dict):
        raise invalid_post(f"{path} must be an object")
    kind = feature.get("$type")
    if kind == "app.bsky.richtext.facet#link":
        uri = feature.get("uri")
        if not isinstance(uri, str) or not _URI_RE.match(uri):
            raise invalid_post(f"{path}/uri must be a valid uri")
    elif kind == "app.bsky.richtext.facet#tag":
        tag = feature.get("tag")
        _check_tag(tag, f"{path}/tag")
        if covered not in (f"#{tag}", f"＃{tag}"):
            raise invalid_post(f"{path} covers {covered!r}, which is not the hashtag #{tag}")
    elif kind == "app.bsky.richtext.facet#mention":
        did = feature.get("did")
        if not isinstance(did, str) or not _DID_RE.match(did):
            raise invalid_post(f"{path}/did must be a valid did")
        if not covered.startswith("@"):
            raise invalid_post(f"{path} covers {covered!r}, which is not an @mention")
    elif not isinstance(kind, str):
        raise invalid_post(f'{path} must have the property "$type"')


def _validate_embed(embed: Any) -> None:  # Any: client JSON
    if not isinstance(embed, dict) or not isinstance(embed.get("$type"), str):
        raise invalid_post('Record/embed must be an object which includes the "$type" property')
    if embed["$type"] != "app.bsky.embed.images":
        return  # other embeds (external, record, video, gallery) are accepted as sent
    images = embed.get("images")
    if not isinstance(images, list):
        raise invalid_post('Record/embed must have the property "images"')
    if len(images) > MAX_IMAGES:
        raise invalid_post(f"Record/embed/images must not have more than {MAX_IMAGES} elements")
    for index, image in enumerate(images):
        path = f"Record/embed/images/{index}"
        if not isinstance(image, dict):
            raise invalid_post(f"{path} must be an object")
        if "image" not in image:
            raise invalid_post(f'{path} must have the property "image"')
        if _blob_link(image["image"]) is None:
            raise invalid_post(f"{path}/image should be a blob ref")
        if "alt" not in image:
            raise invalid_post(f'{path} must have the property "alt"')
        if not isinstance(image["alt"], str):
            raise invalid_post(f"{path}/alt must be a string")
        ratio = image.get("aspectRatio")
        if ratio is not None:
            if not isinstance(ratio, dict):
                raise invalid_post(f"{path}/aspectRatio must be an object")
            for side in ("width", "height"):
                value = ratio.get(side)
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise invalid_post(f"{path}/aspectRatio/{side} must be an integer of at least 1")


def _blob_ref(cid: str, mime: str, size: int) -> dict[str, Any]:
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}


def _blob_link(value: Any) -> str | None:  # Any: client JSON
    """The CID of a blob ref (current ``{"$type": "blob", "ref": {"$link"}}`` or legacy ``{"cid"}``)."""
    if not isinstance(value, dict):
        return None
    if value.get("$type") == "blob":
        ref = value.get("ref")
        link = ref.get("$link") if isinstance(ref, dict) else None
        return link if isinstance(link, str) else None
    cid = value.get("cid")
    return cid if isinstance(cid, str) and "mimeType" in value else None


def _blob_refs(value: Any) -> list[dict[str, Any]]:  # Any: client JSON
    """Every blob ref anywhere in a record, in document order."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if _blob_link(value) is not None:
            return [value]
        for item in value.values():
            found.extend(_blob_refs(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_blob_refs(item))
    return found


def _pretty(size: int) -> str:
    return f"{size / 1_000_000:.2f}MB"


def _input(request: Request) -> dict[str, Any]:  # Any: client JSON
    if not request.body:
        raise invalid("Request encoding (Content-Type) required but not provided")
    if request.content_type != "application/json":
        raise invalid(f"Wrong request encoding (Content-Type): {request.content_type or 'none'}")
    try:
        data = request.json()
    except BadBody as exc:
        raise invalid(f"Invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise invalid("Input must be an object")
    return data


def _required(data: dict[str, Any], name: str) -> str:  # Any: client JSON
    value = data.get(name)
    if value is None:
        raise invalid(f'Input must have the property "{name}"')
    if not isinstance(value, str):
        raise invalid(f"Input/{name} must be a string")
    return value


def _param(request: Request, name: str) -> str:
    value = request.query(name)
    if not value:
        raise invalid(f'Error: Params must have the property "{name}"')
    return value

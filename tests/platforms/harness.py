"""The connector test harness: one way, for every platform, to build its connector against its
simulator over HTTP, make drafts and photos, run a table of faults and check that no credential
leaks. Each ``test_<platform>.py`` keeps its own tables and flows and feeds them to a
``Harness``, as apprise's plugin tests feed their URL tables to ``tests/helpers/rest.py``.

What a platform brings is a ``PlatformSpec`` (``specs.py``): its connector, credentials,
simulator accounts and settings, and the draft its tests send. ``conftest.py`` turns the spec
into fixtures (``sim``, ``harness``, ``connector``); ``test_connectors.py`` runs what every
connector shares over all eight.
"""

from __future__ import annotations

import dataclasses
import http.server
import io
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pytest
from PIL import Image

from herald.core.errors import HeraldError, RetryableError
from herald.core.secret import Secret
from herald.platforms.base import Connector, ConnectorConfig, Draft, Photo
from herald.simulator import Fault, FaultKind, LedgerEntry, Simulator

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5
#: What a 1-minute ``estimated_time_to_regain_access`` (Graph platforms) becomes, seconds.
ONE_MINUTE = 60.0

C = TypeVar("C", bound=Connector, covariant=True)


# -- photos --------------------------------------------------------------------------------


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


#: The two photos most platforms' tests send: Korean and English alt text, landscape and portrait.
PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(48, 64, (30, 30, 200)), "image/jpeg", 48, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


class PhotoServer:
    """Herald's public photo server in miniature, for platforms that fetch photos from a URL
    (Instagram, Threads): each shared photo is served, bytes exactly, at an unguessable path on
    127.0.0.1. Records every path fetched."""

    def __init__(self) -> None:
        self._photos: dict[str, tuple[bytes, str]] = {}
        self.fetched: list[str] = []
        photos, fetched = self._photos, self.fetched

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = photos.get(self.path)
                fetched.append(self.path)
                if found is None:
                    self.send_error(404)
                    return
                data, mime_type = found
                self.send_response(200)
                self.send_header("Content-Type", mime_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def share(self, photo: Photo) -> Photo:
        path = f"/p/{secrets.token_urlsafe(16)}"
        self._photos[path] = (photo.data, photo.mime_type)
        return dataclasses.replace(photo, public_url=f"http://127.0.0.1:{self._server.server_port}{path}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- the network ---------------------------------------------------------------------------


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def settle(sim: Simulator) -> None:
    """Wait until a "slow" request the client gave up on has been handled, so that what it
    does cannot land in the next test's fresh state."""
    deadline = time.monotonic() + 5.0
    while not any(seen.fault == "slow" for seen in sim.requests_seen()):
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.02)


# -- a platform ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformSpec(Generic[C]):
    """What the harness needs to know of one platform.

    The simulator account named ``username`` carries ``credentials`` (the simulator names them
    as the connector does); ``others`` are further accounts, each with its ``username``.
    ``settings`` are simulator attributes set before every test. ``secret_keys`` are the
    credentials that must never show up in a log line or an error. ``create`` is the path and
    method of the call that makes the post (None: the platform cannot say afterwards whether a
    post went out). ``retry_tolerance`` is how far a ``retry_after`` may be off, in seconds.
    ``token_in_url``: the credential travels in the URL path (Telegram), so errors must not
    chain the HTTP library's error, and the simulator's own access log (the platform's side)
    is not searched. ``photo_required``: the platform has no text-only posts.
    """

    connector: type[C]
    username: str
    credentials: Mapping[str, str]
    secret_keys: tuple[str, ...]
    text: str
    photos: tuple[Photo, ...] = PHOTOS
    language: str | None = None
    others: tuple[Mapping[str, str], ...] = ()
    settings: Mapping[str, object] = field(default_factory=dict)
    create: tuple[str, str | None] | None = None
    retry_tolerance: float = 1.0
    token_in_url: bool = False
    photo_required: bool = False

    @property
    def name(self) -> str:
        return self.connector.name

    def build(self, base_url: str, options: Mapping[str, str] | None = None, **credentials: str) -> C:
        """The connector at ``base_url``, with the spec's credentials but for ``credentials``."""
        merged = {**self.credentials, **credentials}
        return self.connector(
            ConnectorConfig(
                credentials={key: Secret(value) for key, value in merged.items()},
                base_url=base_url,
                connect_timeout=1.0,
                read_timeout=READ_TIMEOUT,
                options=dict(options or {}),
            )
        )

    def draft(self, text: str | None = None, photos: tuple[Photo, ...] = (), key: str | None = None) -> Draft:
        """The spec's text (or ``text``) with ``photos``, under the key ``post-1:<platform>``."""
        return Draft(
            text=self.text if text is None else text,
            idempotency_key=f"post-1:{self.name}" if key is None else key,
            photos=photos,
            language=self.language,
        )

    def fault(self, kind: FaultKind, path: str, method: str | None = None, **knobs: float) -> Fault:
        """A fault on this platform's ``path`` (a substring), for ``method`` or any."""
        return Fault(kind=kind, platform=self.name, path=path, method=method, **knobs)

    def accounts(self, **extra: str) -> list[dict[str, str]]:
        """The simulator accounts, the first with ``extra`` fields (``expires_at``...)."""
        main = {"username": self.username, **self.credentials, **extra}
        return [main, *(dict(other) for other in self.others)]

    def secrets(self, cases: Iterable[FaultCase] = ()) -> set[str]:
        """Every secret credential: the spec's and those ``cases`` put in their place."""
        found = {self.credentials[key] for key in self.secret_keys}
        for case in cases:
            found.update(value for key, value in case.credentials.items() if key in self.secret_keys)
        return found


@dataclass(frozen=True)
class FaultCase:
    """One row of a platform's fault table: publish with ``photos`` photos after injecting
    ``faults`` and expect ``expected`` (exactly that type) with ``fragment`` in its message.

    ``credentials`` and ``options`` replace the spec's for the connector; ``account`` adds
    fields to the simulator account (``expires_at``...); ``settings`` set simulator attributes.
    ``retry_after``: expected seconds (or a function giving them at check time). ``posted``:
    ledger entries afterwards, None when the outcome is unknown.
    """

    id: str
    faults: tuple[Fault, ...]
    expected: type[HeraldError]
    fragment: str
    photos: int = 0
    credentials: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    account: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)
    retry_after: float | Callable[[], float] | None = None
    posted: int | None = 0


def case_id(case: FaultCase) -> str:
    return case.id


class Harness(Generic[C]):
    """One platform's spec bound to its running simulator (and photo server, for platforms
    that fetch photos from a public URL)."""

    def __init__(
        self, spec: PlatformSpec[C], sim: Simulator, photo_server: PhotoServer | None = None
    ) -> None:
        self.spec = spec
        self.sim = sim
        self.photo_server = photo_server

    @property
    def url(self) -> str:
        return self.sim.url_for(self.spec.name)

    def make(self, options: Mapping[str, str] | None = None, **credentials: str) -> C:
        """The connector, pointed at the simulator. The caller closes it."""
        return self.spec.build(self.url, options, **credentials)

    def photos(self, count: int | None = None) -> tuple[Photo, ...]:
        """The spec's first ``count`` photos (all by default), each shared on the photo server
        under a new URL when the platform fetches photos itself."""
        chosen = self.spec.photos[:count]
        if self.photo_server is None:
            return chosen
        return tuple(self.photo_server.share(photo) for photo in chosen)

    def draft(self, text: str | None = None, photos: tuple[Photo, ...] = (), key: str | None = None) -> Draft:
        return self.spec.draft(text, photos, key)

    def ledger(self) -> list[LedgerEntry]:
        return self.sim.ledger(self.spec.name)

    def reset(self) -> None:
        """Forget what earlier tests did; set the spec's settings and accounts again (a reset
        keeps both, and a test may have changed them)."""
        self.sim.reset()
        self.arrange()

    def arrange(self, case: FaultCase | None = None) -> None:
        """Settings, accounts and faults as ``case`` wants them (the spec's without one)."""
        settings = {**self.spec.settings, **(case.settings if case else {})}
        for name, value in settings.items():
            setattr(self.sim, name, value)
        accounts = self.spec.accounts(**(case.account if case else {}))
        self.sim.add_accounts({"platform": self.spec.name, **account} for account in accounts)
        for fault in case.faults if case else ():
            self.sim.inject(fault)

    # -- the fault table -------------------------------------------------------------------

    def publish_fault(self, case: FaultCase) -> HeraldError:
        """Publish as ``case`` says and check the error it promises; returns the error."""
        self.arrange(case)
        connector = self.make(case.options, **case.credentials)
        try:
            with pytest.raises(case.expected) as caught:
                connector.publish(self.draft(photos=self.photos(case.photos)))
        finally:
            connector.close()
        error = caught.value
        assert type(error) is case.expected, f"{type(error).__name__}: {error}"
        assert case.fragment in str(error)
        if case.retry_after is not None:
            expected = case.retry_after() if callable(case.retry_after) else case.retry_after
            assert isinstance(error, RetryableError)
            assert error.retry_after is not None
            assert error.retry_after == pytest.approx(expected, abs=self.spec.retry_tolerance)
        if any(fault.kind == "slow" for fault in case.faults):
            settle(self.sim)
        if case.posted is not None:
            assert len(self.ledger()) == case.posted
        return error

    # -- secrecy ---------------------------------------------------------------------------

    def refusals(self, cases: Sequence[FaultCase], photos: int | None = None) -> list[HeraldError]:
        """The error of each case in turn, on one simulator state: faults cleared and the account
        set again between them. ``photos``: how many to send each time (else the case's)."""
        errors: list[HeraldError] = []
        for case in cases:
            self.sim.clear_faults()
            self.arrange(case)
            connector = self.make(case.options, **case.credentials)
            with pytest.raises(case.expected) as caught:
                connector.publish(self.draft(photos=self.photos(case.photos if photos is None else photos)))
            connector.close()
            errors.append(caught.value)
        return errors

    def assert_secrets_kept(
        self,
        caplog: pytest.LogCaptureFixture,
        errors: Sequence[HeraldError],
        cases: Iterable[FaultCase] = (),
        also: Iterable[str] = (),
    ) -> str:
        """No secret credential (the spec's, those of ``cases``, and ``also``) in any log line
        or in any of ``errors``. Returns the log text searched."""
        if self.spec.token_in_url:
            # Herald's side only: the simulator's own access log stands for the platform's servers.
            logged = "\n".join(
                r.getMessage() for r in caplog.records if not r.name.startswith("herald.simulator")
            )
        else:
            logged = caplog.text
        kept = self.spec.secrets(cases) | set(also)
        for secret in kept:
            assert secret not in logged
            for error in errors:
                assert secret not in str(error)
                assert secret not in repr(error)
                if self.spec.token_in_url:
                    assert error.__cause__ is None  # the HTTP library's error names the URL
        return logged

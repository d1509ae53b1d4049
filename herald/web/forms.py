"""HTTP input shaped into what the service takes: the compose form (with drafts), managers'
actions, campaign settings, the JSON post and the log's filters. A route takes a ready
``PostRequest`` or ``LogFilters``, calls the service and renders."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict
from starlette.datastructures import FormData, UploadFile

from herald.accounts import Actor
from herald.core.errors import InputError
from herald.core.i18n import _
from herald.core.text import refuse_controls
from herald.service import (
    FACE_MODES,
    MAX_CAMPAIGN_NAME_CHARS,
    MAX_PHOTOS_PER_POST,
    CampaignDefaults,
    CampaignInfo,
    PhotoInput,
    PostRequest,
)
from herald.web.auth import CanDraft
from herald.web.deps import FormDep, ServiceDep
from herald.web.drafts import DRAFT_TTL_SECONDS, DraftStore
from herald.web.templating import DEFAULT_TIME_ZONE, minutes
from herald.web.uploads import read_photo
from herald.web.zones import FROM_UTC, ZONE_NAMES, cookie_zone, default_zone
from scheduler.localtime import to_utc, zone

#: What may happen to the faces in a photo: kept as they are, blurred or pixelated.
FACE_KEEP = "keep"
FACE_CHOICES = (FACE_KEEP, "blur", "pixelate")
#: Hidden field carrying a draft's signed token (see ``web.drafts``).
DRAFT_FIELD = "draft"
#: The store's limit on a campaign name (``campaigns.name`` is VARCHAR(200)).
#: Longest late tolerance the form accepts: a week, in minutes.
MAX_LATE_TOLERANCE_MINUTES = 7 * 24 * 60
#: How a post that is not sent now gets its time (the compose form's "When" choices): a date
#: and time typed in a zone, the next free slot common to its channels, or each channel's own.
WHEN_AT = "at"
WHEN_SLOT = "slot"
WHEN_EACH = "each"
WHEN_CHOICES = (WHEN_AT, WHEN_SLOT, WHEN_EACH)
#: A local time that happens twice (clocks falling back): "" asks the person (refused until
#: they choose), else ``PostRequest.fold`` by name, as the JSON API takes it.
FOLD_CHOICES = ("", "first", "second")
#: Language tags the compose form suggests (any tag may be typed: ``herald.core.languages``).
LANGUAGE_SUGGESTIONS = ("ko", "en", "ja", "zh-Hans", "zh-Hant", "es", "fr", "de", "pt-BR", "ru")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    # Browsers send textarea line breaks as CRLF; platforms count the CR as a character.
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


# -- the compose form --------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the browser sent it (checked and cleaned by the service, not here)."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class PhotoSlot:
    """One of the compose form's photo inputs: the file (new, or kept from the last submit),
    its alt text, its credit (who took it: ``media.credit`` adds it to the alt text, or to the
    text where the platform has no alt text) and what to do with the faces in it (one of
    ``FACE_CHOICES``)."""

    upload: Upload | None = None
    alt: str = ""
    faces: str = FACE_KEEP
    credit: str = ""


@dataclass(frozen=True)
class FaceChoice:
    """What happens to the faces in one photo: ``mode`` is "blur", "pixelate" or ``None``
    (kept as they are); ``by_campaign`` when the campaign's setting decided it."""

    position: int
    mode: str | None
    by_campaign: bool


@dataclass(frozen=True)
class ComposeForm:
    """What a person typed on the compose page, kept as typed so the form can be shown again
    on error or after a check; photos are kept server-side in a draft (``keep_draft``)."""

    text: str = ""
    channels: tuple[str, ...] = ()
    text_for: dict[str, str] = field(default_factory=dict)
    #: The post's language tag, and each channel's own (blank: the post's), as typed.
    language: str = ""
    language_for: dict[str, str] = field(default_factory=dict)
    slots: tuple[PhotoSlot, ...] = (PhotoSlot(),) * MAX_PHOTOS_PER_POST
    at: str = ""
    tz: str = DEFAULT_TIME_ZONE
    now: bool = False
    campaign: str = ""
    #: File names of photos kept from an earlier submit that are no longer kept (expired).
    lost: tuple[str, ...] = ()
    #: One of ``WHEN_CHOICES`` (unless ``now``).
    when: str = WHEN_AT
    #: One of ``FOLD_CHOICES``; and whether a time that does not exist moves forward.
    fold: str = ""
    shift_gap: bool = False
    #: With the next free slot: not before this local time (in ``tz``), as typed.
    after: str = ""
    #: Go out as a thread where the text is too long (or split at lines of ``---``).
    thread: bool = False
    first_comment: str = ""
    #: Where ``tz`` came from when the person did not choose it: "campaign", "channel" or
    #: "utc" (``web.zones.default_zone``); "" when they chose it.
    tz_from: str = FROM_UTC

    @property
    def has_photos(self) -> bool:
        return any(slot.upload for slot in self.slots)

    @property
    def photo_bytes(self) -> int:
        return sum(len(slot.upload.data) for slot in self.slots if slot.upload)

    @property
    def kept_bytes(self) -> int:
        """Roughly what keeping this form in a draft costs: its photos and its texts."""
        texts = [self.text, self.first_comment, *self.text_for.values()]
        return self.photo_bytes + sum(len(t.encode()) for t in texts)

    @property
    def next_slot(self) -> bool:
        return not self.now and self.when in (WHEN_SLOT, WHEN_EACH)

    def texts(self) -> dict[str, str]:
        """The text each ticked channel gets: its own if one was typed, else the main text."""
        out = {}
        for name in self.channels:
            own = self.text_for.get(name, "")
            out[name] = own if own.strip() else self.text
        return out

    def faces(self, campaign_faces: str | None = None) -> list[FaceChoice]:
        """Per photo, what happens to its faces: the person's choice, else the campaign's
        setting (which the service applies to any photo without a choice of its own).
        Raises InputError for a choice that is not one of ``FACE_CHOICES``."""
        out = []
        for i, slot in enumerate(self.slots, 1):
            if slot.upload is None:
                continue
            if slot.faces not in FACE_CHOICES:
                raise InputError(
                    f"faces{i}",
                    _("faces in photo %(n)d: choose %(choices)s")
                    % {"n": i, "choices": ", ".join(FACE_CHOICES)},
                )
            if slot.faces != FACE_KEEP:
                out.append(FaceChoice(i, slot.faces, False))
            else:
                out.append(FaceChoice(i, campaign_faces or None, bool(campaign_faces)))
        return out

    def resolved(self, campaign_faces: str | None) -> ComposeForm:
        """This form with the campaign's face protection written into each photo that had no
        choice of its own: queued later, it is protected as it was when previewed even if the
        campaign's setting changes meanwhile."""
        modes = {c.position: c.mode for c in self.faces(campaign_faces)}
        slots = tuple(
            replace(slot, faces=modes.get(i) or slot.faces) if slot.upload else slot
            for i, slot in enumerate(self.slots, 1)
        )
        return replace(self, slots=slots)

    def photos(self, campaign_faces: str | None = None) -> list[PhotoInput]:
        modes = {c.position: c.mode for c in self.faces(campaign_faces)}
        return [
            PhotoInput(
                data=s.upload.data,
                filename=s.upload.filename,
                alt_text=s.alt,
                credit=s.credit or None,
                protect_faces=modes[i],
            )
            for i, s in enumerate(self.slots, 1)
            if s.upload is not None
        ]

    def require_kept(self) -> None:
        """Raises InputError if a photo kept from an earlier submit is no longer kept: a post
        must never go out without a photo the person believes is attached."""
        if self.lost:
            raise InputError(
                "photo",
                _(
                    "%(files)s: photos are kept for %(minutes)d minutes after a submit and that time is"
                    " up (or Herald restarted); choose the photo again"
                )
                % {"files": ", ".join(self.lost), "minutes": DRAFT_TTL_SECONDS // 60},
            )

    def to_request(self, campaign_faces: str | None = None) -> PostRequest:
        """The service request, each photo carrying its face protection. Raises InputError for a
        missing or malformed time, an unknown zone or choice, or a kept photo that expired.

        The form shows every "When" option at once, so only the chosen one's fields are sent
        (as "Post now" always ignored the date): a date and time goes as the service's
        ``local_at`` in ``tz`` with ``fold``/``gap``, read (and refused when it does not exist
        or happens twice) by the service; the next free slot with ``after`` and
        ``slot_each`` (the JSON API's rules: ``web.api.submission``)."""
        self.require_kept()
        return PostRequest(
            channels=list(self.channels),
            text=self.text,
            text_for={k: v for k, v in self.text_for.items() if v.strip()},
            photos=self.photos(campaign_faces),
            campaign=self.campaign.strip() or None,
            language=self.language.strip() or None,
            languages={k: v.strip() for k, v in self.language_for.items() if v.strip()},
            thread=self.thread,
            # A blank box is no comment (the service refuses an empty one given on purpose).
            first_comment=self.first_comment if self.first_comment.strip() else None,
            **self._when(),
        )

    def _when(self) -> dict[str, Any]:  # Any: PostRequest's time keywords
        if self.now:
            return {}
        if self.when not in WHEN_CHOICES:
            raise InputError("when", _("choose a date and time, the next free slot or each channel's own"))
        if self.fold not in FOLD_CHOICES:
            raise InputError("fold", _("a time that happens twice: choose the first or the second"))
        if self.when != WHEN_AT:
            # The zone goes along for the times shown (a slot is found in each channel's own).
            after = self._after()
            return {
                "next_slot": True,
                "slot_each": self.when == WHEN_EACH,
                "after": after,
                "tz": self._zone(),
            }
        local = self._local("at", self.at, _("choose a date and time, or tick “Post now”"))
        assert local is not None
        return {
            "local_at": local,
            "tz": self._zone(),
            "fold": FOLD_CHOICES.index(self.fold) - 1 if self.fold else None,
            "gap": "forward" if self.shift_gap else "refuse",
        }

    def _zone(self) -> str:
        """The chosen zone, if it is one of the list: a name from the form is never looked up
        on disk unless it is a known IANA name (``../../etc/passwd`` is refused here)."""
        if self.tz not in ZONE_NAMES:
            raise InputError(
                "tz", _("unknown time zone %(zone)r; choose one from the list") % {"zone": self.tz[:64]}
            )
        return self.tz

    def _local(self, name: str, value: str, missing: str | None) -> datetime | None:
        """A wall-clock time typed in field ``name`` (naive), or None when blank and optional."""
        if not value.strip():
            if missing is None:
                return None
            raise InputError(name, missing)
        try:
            local = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(
                name, _("%(value)r is not a date and time like 2025-06-01T09:30") % {"value": value[:64]}
            ) from None
        if local.tzinfo is not None:
            raise InputError(name, _("give the time without a zone offset and pick the zone from the list"))
        return local

    def _after(self) -> datetime | None:
        """ "Not before", read in the chosen zone with the same DST choices as the date and
        time (``scheduler.localtime``), as the aware instant the service takes."""
        local = self._local("after", self.after, None)
        if local is None:
            return None
        fold = FOLD_CHOICES.index(self.fold) - 1 if self.fold else None
        instant = to_utc(
            local, zone(self._zone()), fold=fold, gap="forward" if self.shift_gap else "refuse", field="after"
        )
        return instant.replace(tzinfo=UTC)


# -- drafts ------------------------------------------------------------------------------------


def get_drafts(request: Request) -> DraftStore[ComposeForm]:
    drafts: DraftStore[ComposeForm] = request.app.state.drafts
    return drafts


DraftsDep = Annotated[DraftStore[ComposeForm], Depends(get_drafts)]


def draft_owner(actor: Actor) -> str:
    """Whose drafts these are: the person's, whichever browser or session they use."""
    return f"user:{actor.user_id}"


def keep_draft(owner: str, drafts: DraftStore[ComposeForm], form: ComposeForm) -> str | None:
    """Keep ``form`` (its photos above all) for its owner; the token for the page's form, or
    ``None`` when there is nothing worth keeping or it cannot be kept."""
    if not form.has_photos:
        return None
    return drafts.put(owner, form, form.photo_bytes)


async def compose_form(
    request: Request, actor: CanDraft, form: FormDep, drafts: DraftsDep, svc: ServiceDep
) -> ComposeForm:
    """The compose form as submitted. A photo input left empty keeps the photo of the same slot
    from the draft the form carries (unless "remove" is ticked); a new file replaces it. A time
    zone left as the page offered it by default (``tz_auto``) is the default for what was
    chosen now: the campaign's zone, else the channels', else the viewer's own (``web.zones``:
    the calendar's cookies), else UTC (no script needed)."""
    kept = drafts.get(draft_owner(actor), _text(form, DRAFT_FIELD) or None)
    channels = tuple(dict.fromkeys(v for v in form.getlist("channels") if isinstance(v, str) and v))
    text_for = {
        key.removeprefix("text_for."): _text(form, key) for key in form if key.startswith("text_for.")
    }
    language_for = {
        key.removeprefix("language_for."): _text(form, key) for key in form if key.startswith("language_for.")
    }
    slots: list[PhotoSlot] = []
    lost: list[str] = []
    for i in range(1, MAX_PHOTOS_PER_POST + 1):
        upload = form.get(f"photo{i}")
        photo: Upload | None = None
        # An empty file input still sends a part, with no file name and no bytes.
        if isinstance(upload, UploadFile) and upload.filename:
            photo = Upload(await read_photo(upload, f"photo {i}"), upload.filename)
        elif form.get(f"drop{i}") is None and _text(form, f"kept{i}"):
            photo = kept.slots[i - 1].upload if kept is not None else None
            if photo is None:
                lost.append(_text(form, f"kept{i}"))
        slots.append(
            PhotoSlot(
                photo,
                _text(form, f"alt{i}").strip(),
                _text(form, f"faces{i}") or FACE_KEEP,
                _text(form, f"credit{i}").strip(),
            )
        )
    tz, tz_from = _text(form, "tz"), ""
    if not tz or tz == _text(form, "tz_auto"):
        viewer = cookie_zone(request.cookies)
        tz, tz_from = default_zone(svc, actor, _text(form, "campaign"), channels, viewer)
    return ComposeForm(
        text=_text(form, "text"),
        channels=channels,
        text_for=text_for,
        language=_text(form, "language"),
        language_for=language_for,
        slots=tuple(slots),
        at=_text(form, "at"),
        tz=tz,
        now=form.get("now") is not None,
        campaign=_text(form, "campaign"),
        lost=tuple(lost),
        when=_text(form, "when") or WHEN_AT,
        fold=_text(form, "fold"),
        shift_gap=form.get("shift_gap") is not None,
        after=_text(form, "after"),
        thread=form.get("thread") is not None,
        first_comment=_text(form, "first_comment"),
        tz_from=tz_from,
    )


ComposeDep = Annotated[ComposeForm, Depends(compose_form)]

#: Longest text the live counter counts, per box (characters). Far above any platform's limit
#: (so the counter still says how far over a long text is) yet small enough that counting it
#: on every keystroke costs the server little.
MAX_COUNT_TEXT_CHARS = 20_000


def counted_form(form: FormDep) -> ComposeForm:
    """The compose form's texts and ticked channels as the live counter sends them
    (``static/counter.js``: no photos, no time). Refused with InputError before anything is
    counted: a box longer than ``MAX_COUNT_TEXT_CHARS`` or holding a control character."""
    channels = tuple(dict.fromkeys(v for v in form.getlist("channels") if isinstance(v, str) and v))
    text_for = {
        key.removeprefix("text_for."): _text(form, key) for key in form if key.startswith("text_for.")
    }
    counted = ComposeForm(
        text=_text(form, "text"),
        channels=channels,
        text_for=text_for,
        thread=form.get("thread") is not None,
        first_comment=_text(form, "first_comment"),
    )
    boxes = {"text": counted.text, "first comment": counted.first_comment}
    boxes |= {f"text-for {name}": text for name, text in text_for.items()}
    for name, text in boxes.items():
        if len(text) > MAX_COUNT_TEXT_CHARS:
            raise InputError(
                name,
                _("%(field)s is longer than %(max)d characters; the counter stops there")
                % {"field": name[:80], "max": MAX_COUNT_TEXT_CHARS},
            )
        refuse_controls(name[:80], text)
    return counted


def form_action(form: FormDep) -> str:
    """Which submit button was pressed (``name="action"``); "" when none was named."""
    return _text(form, "action")


ActionDep = Annotated[str, Depends(form_action)]


# -- managers' actions and campaign settings ---------------------------------------------------


@dataclass(frozen=True)
class DeliveryAction:
    """A dashboard button's form: the row's channel, and for "confirm as published" the URL a
    person found (blank: none)."""

    channel: str | None = None
    url: str | None = None
    #: "yes" once the person answered the takedown question.
    confirmed: bool = False
    #: Takedown scope: every channel ("all") or only ``channel``.
    only_channel: bool = False


def delivery_action(form: FormDep) -> DeliveryAction:
    return DeliveryAction(
        channel=_text(form, "channel").strip() or None,
        url=_text(form, "url").strip() or None,
        confirmed=_text(form, "confirm") == "yes",
        only_channel=_text(form, "scope") == "channel",
    )


DeliveryActionDep = Annotated[DeliveryAction, Depends(delivery_action)]


@dataclass(frozen=True)
class CampaignForm:
    """The campaign settings form, as typed. Blank time zone or late tolerance: leave as it is
    (a new campaign gets the defaults)."""

    name: str = ""
    timezone: str = ""
    late_tolerance: str = ""  # minutes, as typed
    require_alt_text: bool = False
    protect_faces: str = "off"
    requires_approval: bool = False

    @classmethod
    def new(cls, name: str, defaults: CampaignDefaults) -> CampaignForm:
        """The form for a new campaign, filled with the installation's defaults."""
        return cls(
            name=name, require_alt_text=defaults.require_alt_text, protect_faces=defaults.protect_faces
        )

    @classmethod
    def of(cls, row: CampaignInfo) -> CampaignForm:
        """The form filled with a campaign's current settings."""
        return cls(
            name=row.name,
            timezone=row.timezone or "",
            late_tolerance=minutes(row.late_tolerance_seconds),
            require_alt_text=row.require_alt_text,
            protect_faces=row.protect_faces or "off",
            requires_approval=row.requires_approval,
        )

    def settings(self) -> tuple[dict[str, Any], dict[str, str]]:  # Any: set_campaign's keywords
        """``set_campaign`` keywords, and the problems found by field (empty when none)."""
        errors: dict[str, str] = {}
        name = self.name.strip()
        if not name:
            errors["name"] = _("give the campaign a name")
        elif len(name) > MAX_CAMPAIGN_NAME_CHARS:
            errors["name"] = _("a campaign name has at most %(max)d characters") % {
                "max": MAX_CAMPAIGN_NAME_CHARS
            }
        late: int | None = None
        if self.late_tolerance.strip():
            try:
                value = float(self.late_tolerance.strip())
            except ValueError:
                value = -1.0
            if not 0 <= value <= MAX_LATE_TOLERANCE_MINUTES:
                errors["late_tolerance"] = _(
                    "late tolerance is a number of minutes from 0 (never hold a late post) to %(max)d"
                ) % {"max": MAX_LATE_TOLERANCE_MINUTES}
            else:
                late = round(value * 60)
        timezone = self.timezone.strip()
        if timezone and timezone not in ZONE_NAMES:
            # Only a known IANA name is ever looked up on disk (``../../etc/passwd`` is not one).
            errors["timezone"] = _("unknown time zone %(zone)r; choose one from the list") % {
                "zone": timezone[:64]
            }
        if self.protect_faces not in FACE_MODES:
            errors["protect_faces"] = _("protect faces: choose %(choices)s") % {
                "choices": ", ".join(FACE_MODES)
            }
        kwargs: dict[str, Any] = {  # Any: str, int and bool keywords
            "timezone": self.timezone.strip() or None,
            "late_tolerance_seconds": late,
            "require_alt_text": self.require_alt_text,
            "protect_faces": self.protect_faces,
            "requires_approval": self.requires_approval,
        }
        return kwargs, errors


def campaign_form(form: FormDep) -> CampaignForm:
    return CampaignForm(
        name=_text(form, "name"),
        timezone=_text(form, "timezone"),
        late_tolerance=_text(form, "late_tolerance"),
        require_alt_text=form.get("require_alt_text") is not None,
        protect_faces=_text(form, "protect_faces") or "off",
        requires_approval=form.get("requires_approval") is not None,
    )


CampaignFormDep = Annotated[CampaignForm, Depends(campaign_form)]


# -- JSON and query input ----------------------------------------------------------------------


class PostIn(BaseModel):
    """``POST /api/posts``: queue a post. Give ``at`` (ISO 8601 with a zone) or ``now: true``."""

    model_config = ConfigDict(extra="forbid")

    channels: list[str]
    text: str = ""
    text_for: dict[str, str] = {}
    at: AwareDatetime | None = None
    now: bool = False
    campaign: str | None = None
    # Declared only to refuse it with a clear message instead of "extra inputs not permitted".
    photos: list[Any] | None = None  # Any: whatever was sent; it is refused unread

    def to_request(self) -> PostRequest:
        """The service request. Raises InputError for photos or a missing/doubled time."""
        if self.photos is not None:
            raise InputError(
                "photos", _("photos are not accepted in JSON yet; use the compose page or the CLI")
            )
        if self.now and self.at is not None:
            raise InputError("at", _("give either at or now: true, not both"))
        if not self.now and self.at is None:
            raise InputError(
                "at", _("give at (ISO 8601 with a zone, e.g. 2025-06-01T09:30:00+09:00) or now: true")
            )
        return PostRequest(
            channels=self.channels,
            text=self.text,
            text_for=self.text_for,
            at=self.at,
            campaign=self.campaign or None,
        )


def json_post(body: PostIn) -> PostRequest:
    return body.to_request()


JsonPostDep = Annotated[PostRequest, Depends(json_post)]


@dataclass(frozen=True)
class LogFilters:
    """Delivery-log filters from the query string; a blank field means "any"."""

    campaign: str | None = None
    channel: str | None = None
    status: str | None = None


def log_filters(campaign: str = "", channel: str = "", status: str = "") -> LogFilters:
    return LogFilters(campaign.strip() or None, channel.strip() or None, status.strip() or None)


LogFiltersDep = Annotated[LogFilters, Depends(log_filters)]

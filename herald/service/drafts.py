"""Drafts: does a post fit each channel it names? Checking a draft (nothing stored), and
preparing a post to queue: every check, photo cleaning, face protection and renditions, short
of writing anything."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from herald.core.errors import ConfigError, InputError, PhotoError
from herald.core.i18n import _
from herald.core.languages import checked_language
from herald.core.tagging import Utm, slug, tagged
from herald.core.text import refuse_controls
from herald.media import CleanPhoto, Rendition, ingest_photo
from herald.platforms import PhotoInfo, Problem, connector_class
from herald.platforms.follow_ups import plan_parts
from herald.service.answers import CheckResult
from herald.service.campaigns import bounds_of
from herald.service.photos import Photos, photo_info, photo_infos
from herald.service.requests import PhotoInput, PostRequest
from herald.service.schedules import Schedules, slot_search_start
from herald.store.blackouts import blackouts_of
from herald.store.channels import channels_named
from herald.store.models import Campaign, Channel
from scheduler.bounds import Bounds
from scheduler.localtime import to_utc, zone
from scheduler.slots import ChannelSlots

#: A time this far in the past is still "now" (a person typing, clocks a little apart).
PAST_GRACE_SECONDS = 60
MAX_PHOTOS_PER_POST = 4
#: How many credential verdicts a process keeps before it starts again (one per channel and
#: sealing: a handful in practice).
MAX_CREDENTIAL_VERDICTS = 4096


@dataclass
class Context:
    """What queueing a batch of posts reads once: channels and campaigns by name (detached
    from their session), and the channels whose credentials were checked already."""

    chans: dict[str, Channel]
    #: Every channel's name, when some post names one that does not exist (for the error).
    known: list[str]
    campaigns: dict[str, Campaign]
    credentials_checked: set[str] = field(default_factory=set)
    #: The schedules of the channels of posts placed in their next free slot, with the slots
    #: this batch took so far (read on the first such post).
    planned: dict[str, ChannelSlots] = field(default_factory=dict)
    #: Every campaign's name, when some post names one that does not exist (for the error).
    known_campaigns: list[str] = field(default_factory=list)
    #: Each campaign's date range and blackout windows, by name (read on its first post).
    bounds: dict[str, Bounds] = field(default_factory=dict)


@dataclass(frozen=True)
class Series:
    """Where one occurrence of a recurring post belongs (``herald.service.series``)."""

    id: str
    #: The RRULE as written back by ``scheduler.recurrence.parse_rule``.
    rule: str
    #: This occurrence's place, from 1.
    occurrence: int = 1


@dataclass(frozen=True)
class Draft:
    """A post that passed every check, with its cleaned photos and renditions, not yet written."""

    req: PostRequest
    due: datetime
    #: The channels it goes to, each once, in the order given.
    names: list[str]
    photos: list[CleanPhoto]
    #: How many faces were protected in each photo (None: not asked).
    faces: list[int | None]
    #: (source photo's digest, platform) → the rendition that platform gets.
    renditions: dict[tuple[str, str], Rendition]
    #: Faces found in photos of a campaign that protects faces by "review": the post waits for
    #: a person who may approve before it goes out.
    faces_to_review: int = 0
    #: Channel name → its texts when the post goes out there in several parts (a thread, or a
    #: first comment); absent for a channel where it is one post.
    parts_for: dict[str, list[str]] = field(default_factory=dict)
    #: Channel name → its own time (naive UTC) when the post takes each channel's next free
    #: slot (``PostRequest.slot_each``); ``due`` is then the earliest. Empty: ``due`` for all.
    due_for: dict[str, datetime] = field(default_factory=dict)
    #: A recurring post: every occurrence's instant and why it is held as written (as ``due``
    #: and ``held``; the first is this draft's), each checked, until queueing makes one draft
    #: per occurrence; then empty, and ``series`` says which.
    repeats: tuple[tuple[datetime, str | None], ...] = ()
    series: Series | None = None
    #: Why it is held for a person as it is written (a ``hold`` blackout window has its time).
    held: str | None = None


class Drafts(Photos, Schedules):
    def check(
        self,
        channels: Sequence[str],
        text: str,
        photos: Sequence[PhotoInput] = (),
        *,
        platforms: Sequence[str] = (),
        thread: bool = False,
        first_comment: str | None = None,
    ) -> list[CheckResult]:
        """Does this draft fit each channel (or platform)? The same rules, counting and photo
        renditions as queueing; nothing is queued or stored. With ``thread`` or
        ``first_comment``, the parts it becomes on each (``plan_parts``, as queueing plans
        them), each part checked. Raises InputError for an unknown channel or platform, no
        target at all, or a photo that cannot be read."""
        with self.db.read() as s:
            chans = channels_named(s, channels)
            s.expunge_all()
        unknown = [n for n in channels if n not in chans]
        if unknown:
            raise InputError("channel", _("unknown channel(s): %(names)s") % {"names": ", ".join(unknown)})
        if not channels and not platforms:
            raise InputError("channel", _("give at least one channel or platform to check against"))
        targets = [(n, chans[n].platform) for n in channels] + [
            (None, connector_class(p).name) for p in platforms
        ]
        clean = [ingest_photo(p.data, p.filename) for p in photos]
        out = []
        for name, platform in targets:
            cls = connector_class(platform)
            first = text
            parts: tuple[str, ...] = ()
            planned: list[Problem] = []
            if thread or first_comment is not None:
                plan = plan_parts(cls, text, thread=thread, first_comment=first_comment)
                first, planned = plan.texts[0], plan.problems
                parts = tuple(plan.texts) if len(plan.texts) > 1 else ()
            tc = cls.count_text(first)
            infos: list[PhotoInfo] = []
            refused = []
            for i, (p, given) in enumerate(zip(clean, photos, strict=True), 1):
                try:
                    infos.append(photo_info(self._render(p, platform), given))
                except PhotoError as e:
                    refused.append(Problem(platform, "photos", f"photo {i}: {e.message}"))
            problems = planned + cls.validate(first, infos) + refused
            out.append(
                CheckResult(
                    channel=name,
                    platform=cls.name,
                    fits=not problems,
                    count=tc.count,
                    limit=tc.limit,
                    unit=tc.unit,
                    problems=tuple(p.message for p in problems),
                    parts=parts,
                )
            )
        return out

    def _prepare(self, req: PostRequest, ctx: Context, now: datetime) -> Draft:
        """Everything short of writing: every check, photo cleaning, face protection and
        renditions. Raises InputError naming the problem."""
        if not req.channels:
            raise InputError("channel", _("at least one channel is needed"))
        refuse_controls("text", req.text)
        refuse_controls("campaign", req.campaign, name=True)
        for channel, text in req.text_for.items():
            refuse_controls(f"text-for {channel}", text)
        refuse_controls("first comment", req.first_comment)
        req = replace(
            req,
            language=checked_language(req.language),
            languages={
                n: lang for n, given in req.languages.items() if (lang := checked_language(given, channel=n))
            },
        )
        for i, ph in enumerate(req.photos, 1):
            refuse_controls(f"alt text of photo {i}", ph.alt_text)
            refuse_controls(f"credit of photo {i}", ph.credit)
        if len(req.photos) > MAX_PHOTOS_PER_POST:
            raise InputError(
                "photo",
                _("at most %(max)d photos per post; got %(n)d")
                % {"max": MAX_PHOTOS_PER_POST, "n": len(req.photos)},
            )
        names = list(dict.fromkeys(req.channels))
        unknown = [n for n in names if n not in ctx.chans]
        if unknown:
            raise InputError(
                "channel",
                (
                    _("unknown channel(s): %(names)s (known: %(known)s)")
                    if ctx.known
                    else _("unknown channel(s): %(names)s (no channels yet: `herald channel add`)")
                )
                % {"names": ", ".join(unknown), "known": ", ".join(ctx.known)},
            )
        platform_of = {n: ctx.chans[n].platform for n in names}
        campaign = ctx.campaigns.get(req.campaign) if req.campaign else None
        if req.campaign and campaign is None:
            # A misspelt name must not make a new campaign without the real one's policies.
            existing = ", ".join(ctx.known_campaigns) or _("none yet")
            raise InputError(
                "campaign",
                _(
                    "no campaign named %(name)r (existing: %(existing)s); an admin creates one with"
                    " `herald campaign set %(name)s`"
                )
                % {"name": req.campaign, "existing": existing},
            )
        bounds = self._bounds(ctx, campaign)
        due_for = self._due_each(req, ctx.planned, names, now, bounds)  # each channel's own slot
        due = min(due_for.values()) if due_for else self._when(req, ctx, names, campaign, now)
        placed = bounds.place(due) if bounds else None  # the campaign's range and blackout windows
        due = placed.at if placed else due
        stray = sorted(set(req.text_for) - set(names))
        if stray:
            raise InputError(
                "text-for",
                _("text given for channel(s) not in this post: %(names)s") % {"names": ", ".join(stray)},
            )
        stray = sorted(set(req.languages) - set(names))
        if stray:
            raise InputError(
                "language-for",
                _("language given for channel(s) not in this post: %(names)s") % {"names": ", ".join(stray)},
            )
        req, tagged_on = _tagged(req, names, platform_of, campaign)  # before the platforms count it
        for n in names:
            if n not in ctx.credentials_checked:
                self._check_credentials(ctx.chans[n])
                ctx.credentials_checked.add(n)
        if campaign and campaign.require_alt_text:
            bare = [i for i, ph in enumerate(req.photos, 1) if not ph.alt_text.strip()]
            if bare:
                raise InputError(
                    "alt",
                    _("campaign %(campaign)s requires alt text; photo(s) %(photos)s have none")
                    % {"campaign": req.campaign, "photos": ", ".join(map(str, bare))},
                )
        campaign_faces = campaign.protect_faces if campaign else None
        photos: list[CleanPhoto] = []
        faces: list[int | None] = []
        to_review = 0
        for given in req.photos:
            mode = given.protect_faces or campaign_faces
            if mode == "review":  # kept as they are, and seen by a person before they go out
                clean, protected = self._clean(given, None)
                to_review += self._count_faces(clean)
            else:
                clean, protected = self._clean(given, mode)
            photos.append(clean)
            faces.append(protected)
        renditions = self._renditions(photos, platform_of)
        parts_for: dict[str, list[str]] = {}
        problems: list[tuple[str, Problem]] = []
        for n, platform in platform_of.items():
            cls = connector_class(platform)
            text = req.text_for.get(n, req.text)
            if req.thread or req.first_comment is not None:
                planned = plan_parts(cls, text, thread=req.thread, first_comment=req.first_comment)
                problems += [(n, problem) for problem in planned.problems]
                text = planned.texts[0]
                if len(planned.texts) > 1:
                    parts_for[n] = planned.texts
            problems += [
                (n, problem)
                for problem in cls.validate(text, photo_infos(photos, req.photos, renditions, platform))
            ]
        if problems:
            raise InputError(
                "post",
                "; ".join(f"{chan}: {p.message}{tagged_on.get(chan, '')}" for chan, p in problems),
                details=[
                    {
                        "channel": chan,
                        "platform": p.platform,
                        "field": p.field,
                        "message": p.message,
                        "count": p.count,
                        "limit": p.limit,
                    }
                    for chan, p in problems
                ],
            )
        return Draft(
            req,
            due,
            names,
            photos,
            faces,
            renditions,
            to_review,
            parts_for,
            due_for,
            held=placed.held if placed else None,
        )

    def _when(
        self, req: PostRequest, ctx: Context, names: list[str], campaign: Campaign | None, now: datetime
    ) -> datetime:
        """When the post goes out (naive UTC): the next free slot common to its channels, a
        wall-clock time read in its zone (``req.tz``, else the campaign's, else UTC), or an
        instant. Raises InputError for a local time that does not exist or happens twice (unless
        the request says what to do), a time in the past, or no free slot."""
        refuse_timeless_series(req)
        if req.at is not None and req.local_at is not None:
            raise InputError("at", _("give either an instant or a local time, not both"))
        if req.next_slot:
            if req.at is not None or req.local_at is not None:
                raise InputError("at", _("give either a time or the next free slot, not both"))
            missing = [n for n in names if n not in ctx.planned]
            if missing:
                ctx.planned.update(self._slot_channels(missing, now))
            return self._place(
                ctx.planned, names, slot_search_start(req.after, now), self._bounds(ctx, campaign)
            )
        if req.local_at is None:
            if req.tz:
                zone(req.tz)
            return _due(req.at, now)
        tz = zone(req.tz) if req.tz else zone(campaign.timezone if campaign else "UTC", "timezone")
        if req.gap not in ("refuse", "forward"):
            raise InputError("gap", _("a time that does not exist is refused or moved forward"))
        local = req.local_at.replace(tzinfo=None)
        return _due(
            to_utc(local, tz, fold=req.fold, gap="forward" if req.gap == "forward" else "refuse"), now
        )

    def _bounds(self, ctx: Context, campaign: Campaign | None) -> Bounds | None:
        """The campaign's date range and blackout windows (read once per batch), or None."""
        if campaign is None:
            return None
        if campaign.name not in ctx.bounds:
            with self.db.read() as s:
                ctx.bounds[campaign.name] = bounds_of(campaign, blackouts_of(s, campaign.id))
        return ctx.bounds[campaign.name]

    def _check_credentials(self, ch: Channel) -> None:
        """Raises InputError if the channel's credentials cannot be opened or lack one its
        platform needs. A process that cannot open credentials (the web app) checks that they
        were sealed to a key it knows; the worker reports anything else when it publishes."""
        verdict = hashlib.sha256(ch.platform.encode() + b"\0" + ch.credentials_encrypted).digest()
        if verdict in self._credentials_good:
            return
        self._check_credentials_now(ch)
        if len(self._credentials_good) >= MAX_CREDENTIAL_VERDICTS:
            self._credentials_good.clear()
        self._credentials_good.add(verdict)

    def _check_credentials_now(self, ch: Channel) -> None:
        if not self.box.opens:
            if not self.box.recognises(ch.credentials_encrypted):
                raise InputError(
                    "credential",
                    _("channel %(name)s: its credentials were sealed with another key") % {"name": ch.name},
                )
            return
        try:
            creds = self.box.open(ch.credentials_encrypted)
        except ConfigError as e:
            raise InputError(
                "credential", _("channel %(name)s: %(why)s") % {"name": ch.name, "why": e}
            ) from None
        cls = connector_class(ch.platform)
        missing = [k for k in cls.credential_keys if not creds.get(k)]
        if missing:
            raise InputError(
                "credential",
                _("channel %(name)s is missing credential(s): %(keys)s")
                % {"name": ch.name, "keys": ", ".join(missing)},
            )


def _tagged(
    req: PostRequest, names: Sequence[str], platform_of: dict[str, str], campaign: Campaign | None
) -> tuple[PostRequest, dict[str, str]]:
    """The request with each channel's text as it goes out: the campaign's hashtags appended and
    its links tagged (``herald.core.tagging``), kept as that channel's own text; and, for the
    channels whose text changed, what a refusal adds to say why it no longer fits."""
    if campaign is None or not (campaign.hashtags or campaign.utm):
        return req, {}
    texts = dict(req.text_for)
    changed: dict[str, str] = {}
    for n in names:
        utm = Utm(source=platform_of[n], campaign=slug(campaign.name)) if campaign.utm else None
        before = req.text_for.get(n, req.text)
        after = tagged(before, hashtags=campaign.hashtags, utm=utm)
        if after != before:
            texts[n] = after
            changed[n] = _(" (with campaign %(campaign)s's hashtags and UTM link parameters)") % {
                "campaign": campaign.name
            }
    return replace(req, text_for=texts), changed


def refuse_timeless_series(req: PostRequest) -> None:
    """A recurring post starts at a time of its own, its first occurrence: raises InputError
    ("repeat") for one that asks for now or the next free slot (``herald.service.series``)."""
    if req.repeat is not None and (req.next_slot or (req.at is None and req.local_at is None)):
        raise InputError(
            "repeat", _("a recurring post needs the time of its first occurrence, not now or a slot")
        )


def _due(at: datetime | None, now: datetime) -> datetime:
    """When a post asked for ``at`` goes out: naive UTC, no earlier than ``now``. Raises
    InputError for a time more than ``PAST_GRACE_SECONDS`` in the past."""
    if at is None:
        return now
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    if at < now - timedelta(seconds=PAST_GRACE_SECONDS):
        raise InputError(
            "at",
            _("%(at)sZ is in the past (now is %(now)sZ); choose a later time, or post now")
            % {"at": at.isoformat(), "now": now.replace(microsecond=0).isoformat()},
        )
    return max(at, now)

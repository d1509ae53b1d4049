"""What pages show, shaped from service answers: a draft's check per channel, a refused post's
problems per channel, the success statistics, and the note shown after a manager's action.
Routes call these and render; templates only lay the result out."""

from dataclasses import dataclass

from herald.accounts import Actor
from herald.core.errors import InputError
from herald.core.i18n import _
from herald.service import CheckResult, Herald, PlatformStats
from herald.web.forms import ComposeForm

#: Statuses counted as "waiting" and "taken down" in the statistics table.
WAITING_STATES = ("scheduled", "queued", "held", "publishing")
TAKEN_DOWN_STATES = ("deleting", "deleted")


# -- compose -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRow(CheckResult):
    """Does the draft fit one ticked channel? ``count``/``limit`` in the platform's ``unit``."""

    #: The channel has a text of its own (a per-channel variant) and was checked with it.
    own_text: bool


def check_draft(svc: Herald, form: ComposeForm) -> list[CheckRow]:
    """Check the draft against each ticked channel, with that channel's own text if it has one;
    nothing is queued or stored. Raises InputError (no channel, unknown channel, a photo
    refused, a kept photo expired)."""
    if not form.channels:
        raise InputError("channel", _("tick at least one channel to check the post against"))
    form.require_kept()
    photos = form.photos()
    texts = form.texts()
    # One service call per distinct text: channels sharing the main text are checked together.
    groups: dict[str, list[str]] = {}
    for name, text in texts.items():
        groups.setdefault(text, []).append(name)
    rows: dict[str, CheckRow] = {}
    for text, names in groups.items():
        # The answers come in the order of the channels asked about.
        answers = svc.check(
            names, text, photos, thread=form.thread, first_comment=form.first_comment.strip() or None
        )
        for name, r in zip(names, answers, strict=True):
            rows[name] = CheckRow(**vars(r), own_text=text != form.text)
    return [rows[name] for name in form.channels]


def problems_by_channel(error: InputError | None) -> dict[str, list[dict[str, object]]]:
    """A refused post's problems (``InputError.details``), grouped by the channel they are on."""
    out: dict[str, list[dict[str, object]]] = {}
    for detail in error.details if error else []:
        channel = detail.get("channel")
        if isinstance(channel, str):
            out.setdefault(channel, []).append(detail)
    return out


def campaign_faces(svc: Herald, actor: Actor, name: str) -> str | None:
    """The named campaign's face protection ("blur", "pixelate"), if it exists and has one.
    A campaign that has faces reviewed ("review") changes no pixel: the composer previews
    nothing, and the service holds the post for a person who may approve."""
    name = name.strip()
    if not name:
        return None
    for row in svc.list_campaigns(actor=actor):
        if row.name == name:
            return row.protect_faces if row.protect_faces in ("blur", "pixelate") else None
    return None


# -- dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsRow:
    campaign: str | None
    platform: str
    published: int
    failed: int
    uncertain: int
    waiting: int
    cancelled: int
    taken_down: int
    #: published / (published + failed + uncertain); None before any delivery finished.
    success_rate: float | None

    @property
    def finished(self) -> int:
        return self.published + self.failed + self.uncertain


def stats_rows(rows: list[PlatformStats]) -> list[StatsRow]:
    return [
        StatsRow(
            campaign=row.campaign,
            platform=row.platform,
            published=row.count("published"),
            failed=row.count("failed"),
            uncertain=row.count("uncertain"),
            waiting=row.count(*WAITING_STATES),
            cancelled=row.count("cancelled"),
            taken_down=row.count(*TAKEN_DOWN_STATES),
            success_rate=row.success_rate,
        )
        for row in rows
    ]

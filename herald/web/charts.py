"""Charts drawn on the server as SVG: pure functions from numbers to markup, no script.

Why SVG from Python rather than a chart library: the pages run no third-party script (the
Content-Security-Policy allows only the app's own), the charts are in the first answer (no
second request, nothing to load on a slow phone), and they print. Each function returns one
``<figure>``: a caption, the SVG, a legend where there are several series, and the same numbers
as a table under "The numbers" (a screen reader, a copy into a spreadsheet, or a person who
cannot tell the colours apart reads them there).

Accessibility: the SVG is ``role="img"`` named by its ``<title>`` and described by its
``<desc>`` (a sentence the caller writes: what the chart says), every mark carries its own
``<title>`` (a tooltip with its label and number), and colour is never the only carrier: bars
have text labels or a legend in words, and the table has every number. Colours come from the
stylesheet by class (``chart-<key>``), so dark mode and the badges share one palette.

Every text is escaped here (campaign names are user input); ids and class names are reduced
to ``[a-z0-9-]`` so nothing a caller passes can leave its attribute.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from herald.core.i18n import _
from herald.service.charts import ChartNumbers, RateRow
from herald.web.labels import term

#: The drawing's own units: the SVG scales to its box (``width: 100%``), so these fix only its
#: proportions. Text is sized by the stylesheet (larger units on a phone, where the drawing is
#: shrunk to about 340 px, smaller where it is enlarged); ``FONT`` is the size without it.
WIDTH = 400
FONT = 11
#: The widest row label of a rate chart, in columns (a Hangul syllable takes two): a longer one
#: is cut with "…" (the whole label is in its tooltip and in the table).
MAX_LABEL_COLUMNS = 18
#: A bar label longer than this is drawn on two lines.
MAX_LINE_CHARS = 7

_TOKEN = re.compile(r"[^a-z0-9-]+")


def token(value: str) -> str:
    """``value`` as a safe id or class fragment: lower case letters, digits and hyphens only."""
    return _TOKEN.sub("-", value.lower()).strip("-") or "x"


@dataclass(frozen=True)
class Series:
    """One stacked series: ``key`` picks its colour (class ``chart-<key>``), ``label`` names it."""

    key: str
    label: str


@dataclass(frozen=True)
class Column:
    """One stacked bar: ``label`` under it (short, or "" for none), ``title`` in its tooltip and
    the table (e.g. the full date), ``values`` by series key."""

    label: str
    title: str
    values: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.values.values())


@dataclass(frozen=True)
class RateBar:
    """One row of a success-rate chart: ``good`` of ``total``."""

    label: str
    good: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.good / self.total if self.total else None


@dataclass(frozen=True)
class Bin:
    """One bar of a histogram."""

    label: str
    count: int


# -- helpers -----------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A coordinate: at most one decimal, no trailing ".0"."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _cut(label: str) -> str:
    """``label`` cut to ``MAX_LABEL_COLUMNS`` columns, ending in "…" when cut."""
    if sum(_columns(c) for c in label) <= MAX_LABEL_COLUMNS:
        return label
    out, used = "", 1  # the "…"
    for c in label:
        if used + _columns(c) > MAX_LABEL_COLUMNS:
            break
        out += c
        used += _columns(c)
    return out + "…"


def _lines(label: str) -> list[str]:
    """A bar's label on one line, or two split at the space or dash nearest its middle."""
    if len(label) <= MAX_LINE_CHARS:
        return [label]
    cuts = [i + 1 for i, c in enumerate(label) if c in " –-" and 0 < i < len(label) - 1]
    if not cuts:
        return [label]
    at = min(cuts, key=lambda i: abs(i - len(label) / 2))
    return [label[:at].rstrip(), label[at:].lstrip()]


def _label(x: float, y: float, label: str) -> str:
    """A centred label under a bar, on one or two lines (the second below the first)."""
    lines = _lines(label)
    spans = "".join(
        f'<tspan x="{_num(x)}" dy="{"0" if i == 0 else "1.1em"}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text class="chart-label" x="{_num(x)}" y="{_num(y)}" text-anchor="middle" '
        f'font-size="{FONT - 1}">{spans}</text>'
    )


def _percent(rate: float) -> str:
    return f"{rate:.0%}"


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... that is at least ``value`` (the axis's top)."""
    if value <= 1:
        return 1
    power: int = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> str:
    """The ``<svg>`` element: an image named by its title and described by its desc."""
    return "".join(
        [
            f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {_num(height)}" role="img" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _figure(chart_id: str, kind: str, title: str, parts: list[str]) -> Markup:
    return Markup(
        f'<figure class="chart chart-{kind}" id="{chart_id}">'
        f'<figcaption class="chart-caption">{escape(title)}</figcaption>' + "".join(parts) + "</figure>"
    )


def _table(chart_id: str, headers: Sequence[str], rows: Sequence[Sequence[str | int]]) -> str:
    """The chart's numbers as a table, folded under "The numbers"."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        first, *rest = row
        cells = "".join(f'<td class="num">{escape(str(v))}</td>' for v in rest)
        body.append(f'<tr><th scope="row">{escape(str(first))}</th>{cells}</tr>')
    return (
        f'<details class="chart-numbers"><summary>{escape(_("The numbers"))}</summary>'
        f'<div class="table-wrap" role="region" aria-label="{escape(_("The numbers"))}" tabindex="0">'
        f'<table id="{chart_id}-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</div></details>"
    )


def _empty(chart_id: str, kind: str, title: str, empty: str) -> Markup:
    return _figure(chart_id, kind, title, [f'<p class="empty">{escape(empty)}</p>'])


# -- stacked bars: deliveries per day by status ------------------------------------------------


def stacked_bars(
    chart_id: str,
    *,
    title: str,
    desc: str,
    series: Sequence[Series],
    columns: Sequence[Column],
    empty: str,
    first_header: str,
) -> Markup:
    """Stacked vertical bars, one per column, each cut into ``series`` (bottom first), with a
    legend in words and the numbers as a table (``first_header`` names its first column).
    ``empty`` is said instead when every column is empty."""
    chart_id = token(chart_id)
    if not columns or all(c.total == 0 for c in columns):
        return _empty(chart_id, "stacked", title, empty)
    shown = [s for s in series if any(c.values.get(s.key, 0) for c in columns)]
    top = nice_ceiling(max(c.total for c in columns))
    height = 220.0
    left, right, above, below = 36.0, 8.0, 10.0, 24.0
    plot_w, plot_h = WIDTH - left - right, height - above - below
    slot = plot_w / len(columns)
    bar = max(1.0, slot * 0.72)
    body = _y_axis(top, left, above, plot_w, plot_h)
    every = max(1, math.ceil(len(columns) / 8))  # at most about 8 labels under the bars
    for i, col in enumerate(columns):
        x = left + i * slot + (slot - bar) / 2
        y = above + plot_h
        for s in shown:
            n = col.values.get(s.key, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            tip = f"{col.title} · {s.label}: {n}"
            body.append(
                f'<rect class="chart-bar chart-{token(s.key)}" x="{_num(x)}" y="{_num(y)}" '
                f'width="{_num(bar)}" height="{_num(h)}"><title>{escape(tip)}</title></rect>'
            )
        # Every ``every``-th label counted back from the last bar (today's is always shown).
        if col.label and (len(columns) - 1 - i) % every == 0:
            body.append(
                f'<text class="chart-label" x="{_num(x + bar / 2)}" y="{_num(height - 8)}" '
                f'text-anchor="middle" font-size="{FONT - 1}">{escape(col.label)}</text>'
            )
    legend = "".join(
        f'<li><span class="chart-swatch chart-{token(s.key)}" aria-hidden="true"></span>'
        f"{escape(s.label)}</li>"
        for s in shown
    )
    table = _table(
        chart_id,
        [first_header, *(s.label for s in shown), _("Total")],
        [[c.title, *(c.values.get(s.key, 0) for s in shown), c.total] for c in columns if c.total],
    )
    return _figure(
        chart_id,
        "stacked",
        title,
        [_svg(chart_id, height, title, desc, body), f'<ul class="chart-legend">{legend}</ul>', table],
    )


def _y_axis(top: int, left: float, above: float, plot_w: float, plot_h: float) -> list[str]:
    """Grid lines and their numbers at 0, half the top (when whole) and the top."""
    marks = [0, top] if top % 2 else [0, top // 2, top]
    out = []
    for m in marks:
        y = above + plot_h - plot_h * m / top
        out.append(
            f'<line class="chart-rule" x1="{_num(left)}" y1="{_num(y)}" x2="{_num(left + plot_w)}" '
            f'y2="{_num(y)}"></line>'
            f'<text class="chart-axis" x="{_num(left - 6)}" y="{_num(y + 4)}" text-anchor="end" '
            f'font-size="{FONT - 1}">{m}</text>'
        )
    return out


# -- rate bars: success rate per platform, per campaign ----------------------------------------


def rate_bars(
    chart_id: str,
    *,
    title: str,
    desc: str,
    rows: Sequence[RateBar],
    empty: str,
    first_header: str,
    none_finished: str,
) -> Markup:
    """Horizontal bars from 0 to 100%, one per row, each labelled with its name, its rate and
    "(good of total)". A row with nothing finished says ``none_finished`` instead of a bar."""
    chart_id = token(chart_id)
    if not rows:
        return _empty(chart_id, "rates", title, empty)
    row_h, above = 28.0, 6.0
    height = above * 2 + row_h * len(rows)
    label_w, text_w = 150.0, 112.0
    track_w = WIDTH - label_w - text_w - 8
    body = []
    for i, row in enumerate(rows):
        y = above + i * row_h
        mid = y + row_h / 2
        shown = _cut(row.label)
        body.append(
            f'<text class="chart-label" x="{_num(label_w - 8)}" y="{_num(mid + 4)}" text-anchor="end" '
            f'font-size="{FONT}"><title>{escape(row.label)}</title>{escape(shown)}</text>'
        )
        body.append(
            f'<rect class="chart-track" x="{_num(label_w)}" y="{_num(y + 6)}" width="{_num(track_w)}" '
            f'height="{_num(row_h - 12)}"></rect>'
        )
        rate = row.rate
        if rate is None:
            words = none_finished
        else:
            words = f"{_percent(rate)} ({row.good}/{row.total})"
            tip = f"{row.label}: {_percent(rate)} ({row.good}/{row.total})"
            body.append(
                f'<rect class="chart-bar chart-rate" x="{_num(label_w)}" y="{_num(y + 6)}" '
                f'width="{_num(track_w * rate)}" height="{_num(row_h - 12)}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        body.append(
            f'<text class="chart-value" x="{_num(label_w + track_w + 8)}" y="{_num(mid + 4)}" '
            f'font-size="{FONT}">{escape(words)}</text>'
        )
    table = _table(
        chart_id,
        [first_header, _("Success rate"), _("Published"), _("Finished")],
        [[r.label, _percent(r.rate) if r.rate is not None else "—", r.good, r.total] for r in rows],
    )
    return _figure(chart_id, "rates", title, [_svg(chart_id, height, title, desc, body), table])


# -- histogram: lateness -----------------------------------------------------------------------


def histogram(
    chart_id: str,
    *,
    title: str,
    desc: str,
    bins: Sequence[Bin],
    empty: str,
    first_header: str,
    count_header: str,
) -> Markup:
    """Vertical bars, one per bin, each with its count above it and its label below."""
    chart_id = token(chart_id)
    if not bins or all(b.count == 0 for b in bins):
        return _empty(chart_id, "histogram", title, empty)
    height = 214.0
    left, right, above, below = 36.0, 8.0, 18.0, 42.0
    plot_w, plot_h = WIDTH - left - right, height - above - below
    top = nice_ceiling(max(b.count for b in bins))
    slot = plot_w / len(bins)
    bar = slot * 0.7
    body = _y_axis(top, left, above, plot_w, plot_h)
    for i, b in enumerate(bins):
        x = left + i * slot + (slot - bar) / 2
        h = plot_h * b.count / top
        y = above + plot_h - h
        if b.count:
            body.append(
                f'<rect class="chart-bar chart-bin" x="{_num(x)}" y="{_num(y)}" width="{_num(bar)}" '
                f'height="{_num(h)}"><title>{escape(f"{b.label}: {b.count}")}</title></rect>'
            )
        body.append(
            f'<text class="chart-value" x="{_num(x + bar / 2)}" y="{_num(y - 4)}" text-anchor="middle" '
            f'font-size="{FONT - 1}">{b.count}</text>' + _label(x + bar / 2, height - below + 14, b.label)
        )
    table = _table(chart_id, [first_header, count_header], [[b.label, b.count] for b in bins])
    return _figure(chart_id, "histogram", title, [_svg(chart_id, height, title, desc, body), table])


# -- Herald's charts ---------------------------------------------------------------------------

#: Statuses from the bottom of a day's bar up: what went out, what is going, what waits, and
#: what went wrong on top, where the eye lands.
STATE_ORDER = (
    "published",
    "deleting",
    "deleted",
    "publishing",
    "queued",
    "scheduled",
    "held",
    "cancelled",
    "uncertain",
    "failed",
)


def state_label(state: str) -> str:
    """A delivery status as the badges say it, in the person's language (``web.labels``)."""
    return term(state, "status")


def duration_label(seconds: float) -> str:
    """A bucket bound as people say it: "30 s", "2 min"."""
    if seconds < 60:
        return _("%(n)s s") % {"n": f"{seconds:g}"}
    return _("%(n)s min") % {"n": f"{seconds / 60:g}"}


def duration_range(lower: float, upper: float) -> str:
    """A bucket as people say it: "1–5 s", "2–10 min", "30 s–2 min"."""
    if upper < 60:
        return _("%(a)s–%(b)s s") % {"a": f"{lower:g}", "b": f"{upper:g}"}
    if lower >= 60:
        return _("%(a)s–%(b)s min") % {"a": f"{lower / 60:g}", "b": f"{upper / 60:g}"}
    return f"{duration_label(lower)}–{duration_label(upper)}"


@dataclass(frozen=True)
class HeraldCharts:
    """The figures a page shows (``campaigns`` None on one campaign's page)."""

    daily: Markup
    platforms: Markup
    campaigns: Markup | None
    lateness: Markup


def herald_charts(numbers: ChartNumbers, *, prefix: str) -> HeraldCharts:
    """The charts of ``numbers``; ``prefix`` keeps their ids unique on the page."""
    days = len(numbers.days)
    columns: list[Column] = []
    for d in numbers.days:
        _year, month, day = d.day.split("-")
        label = f"{int(month)}/{int(day)}" if day == "01" or not columns else str(int(day))
        columns.append(Column(label, d.day, d.counts))
    known = set(STATE_ORDER)
    extra = sorted({k for d in numbers.days for k in d.counts} - known)
    series = [Series(state, state_label(state)) for state in (*STATE_ORDER, *extra)]
    published = sum(d.counts.get("published", 0) for d in numbers.days)
    failed = sum(d.counts.get("failed", 0) for d in numbers.days)
    span = {"first": numbers.first_day, "last": numbers.last_day, "zone": numbers.zone}
    daily = stacked_bars(
        f"{prefix}-daily",
        title=_("Deliveries per day, by status (%(zone)s)") % {"zone": numbers.zone},
        desc=_(
            "%(total)d deliveries of posts scheduled from %(first)s to %(last)s, days in %(zone)s: "
            "%(published)d published, %(failed)d failed."
        )
        % {**span, "total": numbers.total, "published": published, "failed": failed},
        series=series,
        columns=columns,
        empty=_(
            "No posts were scheduled in these %(days)d days. Compose a post or import a CSV file: "
            "its deliveries are counted here, day by day."
        )
        % {"days": days},
        first_header=_("Day"),
    )
    platforms = _rates(f"{prefix}-platforms", _("Success rate per platform"), numbers.platforms)
    campaigns = None
    if numbers.campaign is None:
        campaigns = _rates(
            f"{prefix}-campaigns", _("Success rate per campaign"), numbers.campaigns, _("no campaign")
        )
    bounds = [b.lower for b in numbers.lateness]
    bins = []
    for i, b in enumerate(numbers.lateness):
        if i == 0 and b.upper is not None:
            label = _("under %(t)s") % {"t": duration_label(b.upper)}
        elif b.upper is None:
            label = _("over %(t)s") % {"t": duration_label(bounds[i])}
        else:
            label = duration_range(b.lower, b.upper)
        bins.append(Bin(label, b.count))
    on_time = numbers.lateness[0].count if numbers.lateness else 0
    very_late = numbers.lateness[-1].count if numbers.lateness else 0
    lateness = histogram(
        f"{prefix}-lateness",
        title=_("How late posts went out"),
        desc=_(
            "%(published)d published deliveries of posts scheduled from %(first)s to %(last)s: "
            "%(on_time)d within a second of their time, %(late)d more than ten minutes late."
        )
        % {**span, "published": numbers.published, "on_time": on_time, "late": very_late},
        bins=bins,
        empty=_(
            "Nothing was published in these days yet. Once a post goes out, how long after its "
            "scheduled time it went out is shown here."
        ),
        first_header=_("Lateness"),
        count_header=_("Deliveries"),
    )
    return HeraldCharts(daily, platforms, campaigns, lateness)


def _rates(chart_id: str, title: str, rows: Sequence[RateRow], unnamed: str = "") -> Markup:
    """A success-rate chart of ``rows`` (a row named None is called ``unnamed``)."""
    bars = [RateBar(unnamed if r.name is None else r.name, r.published, r.finished) for r in rows]
    summary = "; ".join(
        f"{b.label} {_percent(b.rate)}" if b.rate is not None else f"{b.label} —" for b in bars
    )
    return rate_bars(
        chart_id,
        title=title,
        desc=_("Published out of published, failed and uncertain: %(rates)s.") % {"rates": summary},
        rows=bars,
        empty=_("No deliveries in these days yet: the rate appears once posts go out or fail."),
        first_header=_("Name"),
        none_finished=_("nothing finished yet"),
    )

"""Result rows and how they are shown: a terminal table, a Markdown report, JSON, and a PNG of
the ratios.

A row compares Herald with a reference measured in the same run (the bare HTTP loop, plain
Celery, the same queue at another size...). Its ``Spec`` (what is measured, in what unit,
against what, with which target) is known before anything runs, so a scenario that fails still
leaves every one of its rows in the table, marked ``error`` with the reason.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

COLUMNS = ("scenario", "metric", "herald", "reference", "ratio", "target", "pass")


@dataclass(frozen=True)
class Target:
    """What passing means: ``ratio`` ≤ limit (Herald ÷ reference), or Herald's ``value`` ≤
    limit (in the row's unit)."""

    kind: Literal["ratio", "value"]
    limit: float

    def met(self, herald: float, ratio: float | None) -> bool | None:
        if self.kind == "value":
            return herald <= self.limit
        return None if ratio is None else ratio <= self.limit

    def text(self, unit: str) -> str:
        if self.kind == "ratio":
            return f"≤ {self.limit:.1f}×"
        if self.limit == 0:
            return f"= 0 {unit}".rstrip()
        return f"≤ {_number(self.limit)} {unit}".rstrip()


@dataclass(frozen=True)
class Spec:
    """What one row measures. ``reference`` names what Herald is compared with."""

    scenario: str
    metric: str
    unit: str
    reference: str
    target: Target | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.scenario, self.metric)


@dataclass
class Measured:
    """A scenario's numbers for one row; ``note`` says how (extrapolated, sample size...)."""

    herald: float
    reference: float | None = None
    note: str = ""


@dataclass
class Outcome:
    """What a scenario hands back: its numbers by the ``Spec.key`` it declared, and any
    free-form report sections (the profile)."""

    measured: dict[tuple[str, str], Measured] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)

    def put(self, spec: Spec, herald: float, reference: float | None = None, note: str = "") -> None:
        self.measured[spec.key] = Measured(herald, reference, note)


@dataclass
class Row:
    spec: Spec
    herald: float | None = None
    reference: float | None = None
    note: str = ""
    error: str | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Herald ÷ reference; 1.0 when both are 0 (equal), inf when only the reference is."""
        if self.herald is None or self.reference is None:
            return None
        if self.reference == 0:
            return 1.0 if self.herald == 0 else math.inf
        return self.herald / self.reference

    @property
    def passed(self) -> bool | None:
        if self.spec.target is None or self.herald is None or self.error:
            return None
        return self.spec.target.met(self.herald, self.ratio)

    def cells(self) -> list[str]:
        s = self.spec
        if self.error:
            short = self.error if len(self.error) <= 60 else self.error[:57] + "..."
            herald = f"error: {short}"
        else:
            herald = _with_unit(self.herald, s.unit)
        ref = "—" if self.reference is None else f"{_with_unit(self.reference, s.unit)} ({s.reference})"
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}"
        target = s.target.text(s.unit) if s.target else "—"
        passed = {True: "PASS", False: "FAIL", None: "—"}[self.passed]
        if s.target is not None and self.passed is None:
            passed = "n/a"
        return [s.scenario, s.metric, herald, ref, ratio, target, passed]


def _number(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _with_unit(x: float | None, unit: str) -> str:
    return "—" if x is None else f"{_number(x)} {unit}".rstrip()


def table(rows: list[Row]) -> str:
    """A pipe table (also valid Markdown)."""
    cells = [list(COLUMNS), *[r.cells() for r in rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def notes(rows: list[Row]) -> list[str]:
    """One line per row that carries a note: how the number was obtained, or what went wrong."""
    out = []
    for r in rows:
        text = r.error or r.note
        if text:
            out.append(f"- **{r.spec.scenario} / {r.spec.metric}**: {text}")
    return out


def summary(rows: list[Row]) -> str:
    judged = [r for r in rows if r.spec.target is not None]
    passed = sum(1 for r in judged if r.passed)
    failed = sum(1 for r in judged if r.passed is False)
    errors = sum(1 for r in rows if r.error)
    return f"{passed} pass, {failed} fail, {len(judged) - passed - failed} not judged; {errors} errors"


def markdown(rows: list[Row], *, title: str, preamble: list[str], sections: dict[str, str]) -> str:
    """The report: context, the table, notes per row, then free-form sections (the profile)."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    head = [
        f"# {title}",
        "",
        f"Run {now} on {platform.node()} ({platform.machine()}, Python {platform.python_version()}).",
        *preamble,
        "",
        table(rows),
        "",
        f"Targets: {summary(rows)}.",
        "",
    ]
    body = ["## Notes", "", *notes(rows), ""]
    for name, text in sections.items():
        body += [f"## {name}", "", text.rstrip(), ""]
    return "\n".join(head + body)


def _finite(x: float | None) -> float | str | None:
    """JSON has no NaN or infinity: those become strings."""
    return x if x is None or math.isfinite(x) else str(x)


def to_json(rows: list[Row]) -> str:
    return json.dumps(
        [
            {
                "scenario": r.spec.scenario,
                "metric": r.spec.metric,
                "unit": r.spec.unit,
                "herald": _finite(r.herald),
                "reference": _finite(r.reference),
                "reference_name": r.spec.reference,
                "ratio": _finite(r.ratio),
                "target": r.spec.target.text(r.spec.unit) if r.spec.target else None,
                "pass": r.passed,
                "note": r.note,
                "error": r.error,
            }
            for r in rows
        ],
        indent=2,
        allow_nan=False,
    )


#: Ratios drawn on the chart's log axis, and the ticks labelled on it.
_CHART_RANGE = (0.01, 100.0)
_CHART_TICKS = (0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 100.0)


def _ascii(text: str) -> str:
    """Pillow's built-in font has no glyphs for these."""
    for a, b in (("×", "x"), ("→", "->"), ("÷", "/"), ("≤", "<="), ("—", "-")):
        text = text.replace(a, b)
    return text


def chart(rows: list[Row], path: Path) -> bool:
    """A PNG bar chart of every finite ratio on a log scale (1× marked; green pass, red fail,
    grey not judged), drawn with Pillow (already a dependency of Herald's photo handling).
    Returns whether a file was written."""
    from PIL import Image, ImageDraw, ImageFont

    shown = [r for r in rows if r.ratio is not None and math.isfinite(r.ratio) and r.ratio > 0]
    if not shown:
        return False
    font = ImageFont.load_default(size=13)
    labels = [_ascii(f"{r.spec.scenario}: {r.spec.metric}") for r in shown]
    label_w = int(max(font.getlength(t) for t in labels)) + 16
    bar_w, row_h, top, bottom = 520, 20, 12, 40
    img = Image.new("RGB", (label_w + bar_w + 90, top + row_h * len(shown) + bottom), "white")
    draw = ImageDraw.Draw(img)
    lo, hi = (math.log10(v) for v in _CHART_RANGE)

    def x_of(ratio: float) -> float:
        clamped = min(max(math.log10(ratio), lo), hi)
        return label_w + (clamped - lo) / (hi - lo) * bar_w

    axis_y = top + row_h * len(shown)
    for tick in _CHART_TICKS:
        x = x_of(tick)
        draw.line([(x, top), (x, axis_y)], fill="black" if tick == 1.0 else (225, 225, 225))
        draw.text((x, axis_y + 4), f"{tick:g}x", fill="black", font=font, anchor="mt")
    for i, (row, text) in enumerate(zip(shown, labels, strict=True)):
        y = top + i * row_h
        color = (46, 139, 87) if row.passed else (200, 40, 40) if row.passed is False else (150, 150, 150)
        ratio = row.ratio or 0.0
        x0, x1 = sorted((x_of(1.0), x_of(ratio)))
        draw.rectangle([(x0, y + 3), (max(x1, x0 + 1), y + row_h - 4)], fill=color)
        draw.text((label_w - 8, y + row_h / 2), text, fill="black", font=font, anchor="rm")
        draw.text((label_w + bar_w + 6, y + row_h / 2), f"{ratio:.2f}x", fill="black", font=font, anchor="lm")
    draw.text(
        (label_w, axis_y + 22),
        "Herald / reference (log scale; bars start at 1x; green pass, red fail, grey not judged)",
        fill="black",
        font=font,
    )
    img.save(path, format="PNG", optimize=True)
    return True

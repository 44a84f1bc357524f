"""`/spaces/{owner}/{name}/badge.svg`: a shields-style status badge people put in their own README."""

from __future__ import annotations

from xml.sax.saxutils import escape

from podium.web.views import stage_kind

# What each kind of stage (podium.web.views.stage_kind) looks like to someone reading a README.
_COLOURS = {"ok": "#2e9e4f", "busy": "#d08a00", "idle": "#7a7a85", "bad": "#d1363a"}
_CHAR_WIDTH = 6.6  # average advance of 11px Verdana/DejaVu Sans, close enough for a badge


def _width(text: str) -> int:
    return int(len(text) * _CHAR_WIDTH) + 12


def badge_svg(label: str, stage: str) -> str:
    """An SVG badge `label | stage`, coloured by what the stage means for a visitor."""
    value = stage.lower().replace("_", " ")
    colour = _COLOURS[stage_kind(stage)]
    left, right = _width(label), _width(value)
    total = left + right
    label_x, value_x = left / 2, left + right / 2
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" \
aria-label="{escape(label)}: {escape(value)}">
<title>{escape(label)}: {escape(value)}</title>
<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>\
<rect x="{left}" width="{right}" height="20" fill="{colour}"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="{label_x}" y="14">{escape(label)}</text><text x="{value_x}" y="14">{escape(value)}</text></g>
</svg>"""

"""The one brand every surface shares: the site's stylesheet, emails, PDFs and
calendar files all take their colours and words from here.

The site's green on white and white on the green both pass WCAG AA (6.9:1).
The logo text is the provider's name (PROVIDER_NAME), and the arrival time is
the provider's ARRIVE_MINUTES_BEFORE (app.services.core.provider).
"""
from __future__ import annotations

GREEN = "#0b6b3a"
GREEN_DARK = "#08512c"
GREEN_TINT = "#dff0e6"  # small text on the green (email header)
TAGLINE = "First aid training across Yorkshire"


def rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) of a "#rrggbb" colour, as fpdf2 takes it."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def stylesheet() -> str:
    """The custom properties the site's CSS uses for the brand (/brand.css)."""
    return f":root {{\n  --brand: {GREEN};\n  --brand-dark: {GREEN_DARK};\n}}\n"


def arrival_advice(minutes: int) -> str:
    return f"Please arrive {minutes} minutes before the start"

"""Theme variables as Rich styles, for cells and text built in Python."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError


def theme_style(app: App[object], variable: str, *, bold: bool = False) -> Style:
    """The colour of theme ``variable`` as a Rich style (ANSI colours stay ANSI).

    Theme values use Textual's colour syntax (``ansi_bright_green``, ``#6ccb7a``),
    which Rich cannot parse directly; an unknown or unparsable value gives no
    colour rather than an error.
    """
    values = app.theme_variables
    value = values.get(variable)
    # a default such as "state-idle": "$foreground-muted" names another variable
    seen = {variable}
    while value and value.startswith("$") and value[1:] not in seen:
        seen.add(value[1:])
        value = values.get(value[1:])
    if not value:
        return Style(bold=bold or None)
    try:
        colour = Color.parse(value)
    except ColorParseError:
        return Style(bold=bold or None)
    return Style(color=colour.rich_color, bold=bold or None)

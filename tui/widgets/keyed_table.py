"""A DataTable whose rows are keyed by id and kept in sync in place, so the cursor stays put,
and whose columns always fit the terminal (no sideways scrolling)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

Cells = Sequence[Text]
"""The rendered cells of one row, in column order."""

KeyedRows = Sequence[tuple[str, Cells]]
"""Rows as they should appear, in order: (key, cells)."""

Layout = tuple[dict[str, int], dict[str, str]]
"""Column widths and labels, by column key."""

COMPACT_BELOW = 100
"""Below this many columns tables switch to fixed, narrower columns so they fit 80."""
MIN_STRETCH = 12
"""The stretching column never gets narrower than this on wide terminals."""


def cell(value: str, style: str = "") -> Text:
    """One line of cell text, cut with an ellipsis when the column is narrower."""
    return Text(value, style=style, no_wrap=True, overflow="ellipsis", end="")


def fit_widths(
    width: int,
    fixed: Mapping[str, int],
    flexible: Sequence[str],
    *,
    padding: int = 1,
    minimum: int = 6,
) -> dict[str, int]:
    """Widths for every column: `fixed` ones as given, `flexible` ones share what is left of
    `width` (less cell padding and a scrollbar), each at least `minimum`."""
    columns = len(fixed) + len(flexible)
    left = width - sum(fixed.values()) - 2 * padding * columns - 1
    widths = dict(fixed)
    if flexible:
        share = max(minimum, left // len(flexible))
        for key in flexible:
            widths[key] = share
        widths[flexible[0]] = max(minimum, left - share * (len(flexible) - 1))
    return widths


def short_label(label: str, width: int) -> str:
    """A column label cut to `width` cells, with an ellipsis when cut."""
    return label if len(label) <= width else label[: max(1, width - 1)] + "…"


class KeyedTable(DataTable[Text]):
    """A row-cursor DataTable that applies a new snapshot of keyed rows with minimal change.

    `sync` updates only the cells that changed, removes rows that went away, adds new ones, and
    keeps the cursor on the row it was on (by key), wherever that row now is.

    Widths: narrower than `COMPACT_BELOW`, columns take the fixed widths `compact_widths` gives
    (the others share what is left) and `compact` is True so subclasses render shorter values;
    wider, columns are as wide as their content and the `stretch` column takes the rest, so a
    long message is cut with an ellipsis instead of pushing the table sideways.

    Vim movement as well as the arrows: j / k, g (gg) / G to the first / last row, ctrl+d /
    ctrl+u a page down / up.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First row", show=False),
        Binding("G", "scroll_bottom", "Last row", show=False),
        Binding("ctrl+d", "page_down", "Page down", show=False),
        Binding("ctrl+u", "page_up", "Page up", show=False),
    ]

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        stretch: str | None = None,
        cursor: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row" if cursor else "none", **kwargs)
        self.can_focus = cursor
        self._column_specs = tuple(columns)
        self.stretch = stretch
        self._layout: Layout | None = None
        self._columns_added = False
        self.compact = False
        """True while the table uses the narrow layout."""
        self.widths: dict[str, int] | None = None
        """The compact widths, while `compact`."""

    def on_mount(self) -> None:
        self._add_columns()

    def compact_widths(self, width: int) -> dict[str, int] | None:
        """Fixed widths of some columns on a narrow terminal (`width` cells); the others share
        what is left. None: automatic widths even when narrow."""
        return None

    def compact_labels(self) -> dict[str, str]:
        """Shorter column labels for the narrow layout (others are cut to fit)."""
        return {}

    def render_rows(self) -> KeyedRows:
        """The rows to show now, from what the table was last given (after a resize)."""
        return [(key, self.get_row(key)) for key in self.row_keys]

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        fixed = self.compact_widths(width) if width < COMPACT_BELOW else None
        self.compact = fixed is not None
        if fixed is not None:
            flexible = [key for key in self.column_keys if key not in fixed]
            self.widths = fit_widths(width, fixed, flexible, padding=self.cell_padding)
        else:
            self.widths = None
        self.sync(self.render_rows())

    def _add_columns(self) -> None:
        if self._columns_added:
            return
        widths, labels = self._layout or ({}, {})
        for label, key in self._column_specs:
            self.add_column(labels.get(key, label), key=key, width=widths.get(key))
        self._columns_added = True

    def _wanted_layout(self, rows: KeyedRows) -> Layout | None:
        if self.compact and self.widths is not None:
            short = self.compact_labels()
            labels = {
                key: short_label(short.get(key, label), self.widths[key])
                for label, key in self._column_specs
            }
            return dict(self.widths), labels
        width = self.size.width
        if self.stretch is None or width <= 0:
            return None
        natural = {key: len(label) for label, key in self._column_specs}
        for _, cells in rows:
            for key, text in zip(self.column_keys, cells, strict=False):
                natural[key] = max(natural[key], text.cell_len)
        others = sum(w for key, w in natural.items() if key != self.stretch)
        padding = 2 * self.cell_padding * len(natural) + 1
        natural[self.stretch] = max(MIN_STRETCH, width - others - padding)
        return natural, {}

    @property
    def column_keys(self) -> list[str]:
        """The keys of the columns, in order."""
        return [key for _, key in self._column_specs]

    @property
    def row_keys(self) -> list[str]:
        """The keys of the rows, in the order they appear."""
        return [str(row.key.value) for row in self.ordered_rows]

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if there are rows."""
        if self.row_count == 0 or not self.is_valid_row_index(self.cursor_row):
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row keyed `key`; False if there is no such row."""
        if key not in self.rows:
            return False
        index = self.get_row_index(key)
        if index != self.cursor_row:
            self.move_cursor(row=index)
        return True

    def visible_keys(self) -> list[str]:
        """The keys of the rows currently scrolled into view (every row is one line high)."""
        height = self.scrollable_content_region.height
        if self.show_header:
            height -= self.header_height
        if height <= 0:
            return []
        first = max(0, round(self.scroll_y))
        return [str(row.key.value) for row in self.ordered_rows[first : first + height]]

    def cells_of(self, key: str) -> dict[str, str]:
        """The plain text of one row, by column key."""
        return {
            column: text.plain
            for column, text in zip(self.column_keys, self.get_row(key), strict=False)
        }

    def sync(self, rows: KeyedRows) -> None:
        """Make the table show `rows`, in that order, changing only what changed."""
        selected = self.selected_key
        layout = self._wanted_layout(rows)
        if layout != self._layout or not self._columns_added:
            self._layout = layout
            scroll_y = self.scroll_y
            self.clear(columns=True)
            self._columns_added = False
            self._add_columns()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            self.scroll_to(y=scroll_y, animate=False)
        else:
            self._apply(rows)
        if selected is not None:
            self.select_key(selected)

    def _apply(self, rows: KeyedRows) -> None:
        wanted = {key: cells for key, cells in rows}
        for key in self.row_keys:
            if key not in wanted:
                self.remove_row(key)
        remaining = self.row_keys
        order = [key for key, _ in rows]
        if order[: len(remaining)] != remaining:
            self._rebuild(rows)
            return
        for key in remaining:
            self._update_row(key, wanted[key])
        for key in order[len(remaining) :]:
            self.add_row(*wanted[key], key=key)

    def _update_row(self, key: str, cells: Cells) -> None:
        current = self.get_row(key)
        for column_key, old, new in zip(self.column_keys, current, cells, strict=False):
            if not _same_text(old, new):
                self.update_cell(key, column_key, new, update_width=self._layout is None)

    def _rebuild(self, rows: KeyedRows) -> None:
        scroll_y = self.scroll_y
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self.scroll_to(y=scroll_y, animate=False)


def _same_text(old: Text, new: Text) -> bool:
    """Text equality including the base style (rich's `==` compares only plain text and spans)."""
    return old.plain == new.plain and old.style == new.style and old.spans == new.spans

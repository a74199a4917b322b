"""A DataTable whose rows are keyed by id and kept in sync in place, so the cursor stays put."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

Cells = Sequence[Text]
"""The rendered cells of one row, in column order."""

KeyedRows = Sequence[tuple[str, Cells]]
"""Rows as they should appear, in order: (key, cells)."""


def cell(value: str, style: str = "") -> Text:
    """One line of cell text, cut with an ellipsis when the column is narrower."""
    return Text(value, style=style, no_wrap=True, overflow="ellipsis", end="")


class KeyedTable(DataTable[Text]):
    """A row-cursor DataTable that applies a new snapshot of keyed rows with minimal change.

    `sync` updates only the cells that changed, removes rows that went away, adds new ones, and
    keeps the cursor on the row it was on (by key), wherever that row now is.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._column_specs = tuple(columns)
        self._column_widths: dict[str, int] = {}
        self._column_labels: dict[str, str] = {}
        self._columns_added = False

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        if not self._columns_added:
            for label, key in self._column_specs:
                self.add_column(
                    self._column_labels.get(key, label),
                    key=key,
                    width=self._column_widths.get(key),
                )
            self._columns_added = True

    def set_column_widths(
        self, widths: dict[str, int], labels: dict[str, str] | None = None
    ) -> None:
        """Fix the widths (and maybe labels) of some columns; empty for all automatic.

        The rows are cleared: call `sync` again to show them.
        """
        self._column_widths = dict(widths)
        self._column_labels = dict(labels or {})
        if self._columns_added:
            self.clear(columns=True)
            self._columns_added = False
            self._add_columns()

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

    def sync(self, rows: KeyedRows) -> None:
        """Make the table show `rows`, in that order, changing only what changed."""
        self._add_columns()
        selected = self.selected_key
        wanted = {key: cells for key, cells in rows}
        for key in self.row_keys:
            if key not in wanted:
                self.remove_row(key)
        remaining = self.row_keys
        order = [key for key, _ in rows]
        if order[: len(remaining)] != remaining:
            self._rebuild(rows)
        else:
            for key in remaining:
                self._update_row(key, wanted[key])
            for key in order[len(remaining) :]:
                self.add_row(*wanted[key], key=key)
        if selected is not None:
            self.select_key(selected)

    def _update_row(self, key: str, cells: Cells) -> None:
        current = self.get_row(key)
        for column_key, old, new in zip(self.column_keys, current, cells, strict=False):
            if not _same_text(old, new):
                self.update_cell(key, column_key, new, update_width=True)

    def _rebuild(self, rows: KeyedRows) -> None:
        scroll_y = self.scroll_y
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        self.scroll_to(y=scroll_y, animate=False)


def _same_text(old: Text, new: Text) -> bool:
    """Text equality including the base style (rich's `==` compares only plain text and spans)."""
    return old.plain == new.plain and old.style == new.style and old.spans == new.spans

"""Widgets of the Flightdeck TUI, one per file."""

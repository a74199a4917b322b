"""Screens of the Flightdeck TUI: the labs list, a lab's details and the action dialogs."""

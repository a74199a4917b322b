"""Pure pydantic models and state machines: the API contract, shared with the TUI. No I/O."""

"""The Flightdeck TUI: a full-screen, keyboard-only Textual app over the backend's HTTP API.

Every view is made from the domains' declarations (`EntitySpec`s): one list view per domain,
plus Needs you, the TAC workers, the hosts and deployments (with the placement domain) and the
audit log; `:` switches between them (each view is a Textual mode, so switching keeps its state
and never stacks screens deep).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

import httpx
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from backend.domain.catalog import all_specs
from backend.domain.entity import EntitySpec
from tui.client import FlightdeckClient
from tui.connection import (
    BackendLost,
    BackendReached,
    ConnectionState,
    TokenRefused,
    connection_message,
)
from tui.errors import FlightdeckError
from tui.screens.audit_screen import AuditScreen
from tui.screens.command_line_screen import CommandLineScreen
from tui.screens.deployments_screen import DeploymentsScreen
from tui.screens.entity_list_screen import EntityListScreen
from tui.screens.hosts_screen import HostsScreen
from tui.screens.needs_screen import NeedsScreen
from tui.screens.start_screen import StartScreen
from tui.screens.workers_screen import WorkersScreen
from tui.session import (
    AUDIT_VIEW,
    DEPLOYMENTS_VIEW,
    HOSTS_VIEW,
    NEEDS_VIEW,
    WORKERS_VIEW,
    Session,
)


def default_user() -> str:
    """Who is at the keyboard: `$USER`, else the login name, else `unknown`."""
    user = os.environ.get("USER", "").strip()
    if user:
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


class FlightdeckApp(App[None]):
    """Lists every domain's entities with live progress, what waits for a person and the audit
    log; acts on them from the keyboard.

    Talks to the backend only through `FlightdeckClient`; `transport` lets tests serve the API
    in-process (`httpx.ASGITransport(app)`), `refresh_interval` is how often (in seconds) the
    screens poll it, and `specs` which domains it shows (default: every declared one).
    """

    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Flightdeck"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command_line", "Views", key_display=":", priority=True),
    ]

    connection_state: reactive[ConnectionState] = reactive(ConnectionState.CONNECTING)
    """Whether the backend answers and takes the token; screens report every request's fate."""

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh_interval: float = 1.0,
        user: str | None = None,
        specs: Iterable[EntitySpec] | None = None,
    ) -> None:
        super().__init__()
        self.api_url = api_url
        self.session = Session(
            client=FlightdeckClient(api_url, token, transport=transport),
            user=user or default_user(),
            refresh_interval=refresh_interval,
            specs=tuple(specs) if specs is not None else all_specs(),
        )
        for view in self.session.view_names:
            self.add_mode(view, partial(self._make_view, view))
        self.sub_title = self._describe_connection()

    @property
    def first_domain_view(self) -> str:
        """The view to open when nothing waits: the first domain's list."""
        specs = self.session.specs
        return specs[0].plural if specs else NEEDS_VIEW

    def _make_view(self, view: str) -> Screen[None]:
        if view == NEEDS_VIEW:
            return NeedsScreen(self.session)
        if view == AUDIT_VIEW:
            return AuditScreen(self.session)
        if view == WORKERS_VIEW:
            return WorkersScreen(self.session)
        if view == HOSTS_VIEW:
            return HostsScreen(self.session)
        if view == DEPLOYMENTS_VIEW:
            return DeploymentsScreen(self.session)
        spec = next(s for s in self.session.specs if s.plural == view)
        return EntityListScreen(self.session, spec)

    def get_default_screen(self) -> Screen[None]:
        return StartScreen(self.api_url)

    def on_mount(self) -> None:
        self.open_start_view()

    async def on_unmount(self) -> None:
        await self.session.client.aclose()

    @work(exclusive=True, group="start")
    async def open_start_view(self) -> None:
        """Needs you when anything waits for a person, else the first domain's list."""
        view = self.first_domain_view
        try:
            needs = await self.session.client.needs(limit=1)
        except FlightdeckError as exc:
            self.post_message(connection_message(exc))
        else:
            self.post_message(BackendReached())
            if needs.items:
                view = NEEDS_VIEW
            await self._learn_who_we_are()
        self.open_view(view)

    async def _learn_who_we_are(self) -> None:
        """Ask the API who our token stands for, so keys our role may not use are hidden."""
        try:
            me = await self.session.client.me()
        except FlightdeckError:
            return  # a backend from before identities: every key is offered, the API decides
        self.session.identity.me = me
        self.sub_title = self._describe_connection()
        self.screen.refresh_bindings()

    def open_view(self, view: str) -> None:
        """Switch to a view, closing any details open in the view being left."""
        if self.current_mode == view:
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            self.pop_screen()
        self.switch_mode(view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`:` works on the views, not inside a dialog or while typing in a field."""
        if action == "command_line":
            return not isinstance(self.screen, ModalScreen) and not isinstance(self.focused, Input)
        return True

    def action_command_line(self) -> None:
        """Open the `:` command line."""
        self.push_screen(CommandLineScreen(self.session), self._switch_to)

    def _switch_to(self, view: str | None) -> None:
        if view is not None:
            self.open_view(view)

    def on_backend_reached(self, _: BackendReached) -> None:
        """A request was answered with the token accepted: say so if we had lost the backend."""
        if self.connection_state is ConnectionState.DISCONNECTED:
            self.notify(f"Reconnected to {self.api_url}", markup=False)
        elif self.connection_state is ConnectionState.TOKEN_REFUSED:
            self.notify("The API token is accepted now", markup=False)
        self.connection_state = ConnectionState.CONNECTED

    def on_backend_lost(self, message: BackendLost) -> None:
        """A request got no answer: tell the user once, then keep retrying quietly."""
        if self.connection_state is not ConnectionState.DISCONNECTED:
            self.notify(
                f"{message.reason}. Showing the last data; retrying.",
                title="Backend unreachable",
                severity="error",
                markup=False,
            )
        self.connection_state = ConnectionState.DISCONNECTED

    def on_token_refused(self, message: TokenRefused) -> None:
        """The backend refused the token: a lasting banner (every screen's status line) until a
        request succeeds; the first time also as a notification."""
        if self.connection_state is not ConnectionState.TOKEN_REFUSED:
            self.notify(
                f"{message.reason}. Start the TUI with the backend's token"
                " (flightdeck tui --token-file FILE).",
                title="Token refused",
                severity="error",
                timeout=10,
                markup=False,
            )
        self.connection_state = ConnectionState.TOKEN_REFUSED

    def watch_connection_state(self) -> None:
        self.sub_title = self._describe_connection()

    def _describe_connection(self) -> str:
        me = self.session.identity.me
        who = f" · {me.name} ({', '.join(me.roles)})" if me is not None and me.personal else ""
        return f"{self.connection_state.value} · {self.api_url}{who}"


def run_tui(api_url: str, token: str | None = None) -> None:
    """Run the TUI in the foreground against the backend at `api_url` until the user quits."""
    FlightdeckApp(api_url, token).run()

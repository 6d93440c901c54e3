"""A fake Bitrix24 portal for your tests, running inside the test process: no real call is
ever made, nothing else needs installing, and it knows everything a client sent it.

::

    from bitrix24_callback import Client
    from bitrix24_callback.testing import FakePortal

    with FakePortal(stage_ms=20) as portal:
        with Client.from_webhook(portal.webhook_url) as client:
            started = client.start_callback(line="reg1", to="+12025550123", text="Hi")
            record = client.wait_for_outcome(started.call_id, timeout=5)
        assert [c.call_id for c in portal.ledger()] == [started.call_id]

The portal speaks Bitrix24's REST protocol on a loopback port (HTTP, or HTTPS with ``tls=True``
and its own CA in :attr:`FakePortal.ca_pem`), serves a webhook and an OAuth application, keeps
a ledger of the calls placed and simulates each call's stages and outcome. Its line ``reg1``
exists; the numbers ``+12015550101`` ... ``+12015550106`` end busy, unanswered, declined, out of
funds, invalid, and refused by the portal; any other number is answered. Faults
(:meth:`FakePortal.add_fault`) make it fail the way real portals and proxies do.

With pytest, installing the package provides the fixture ``fake_portal`` (a fresh portal per
test; ``@pytest.mark.fake_portal(tls=True, stage_ms=20)`` passes options to it). This module
does not import pytest.

The portal runs on its own native threads (it never needs the GIL). Everything the
``/_fake/`` admin endpoint of the project's command-line portal offers is also available over
HTTP at :attr:`FakePortal.admin_url`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Type

from ._native import _FakePortal

__all__ = [
    "FakePortal",
    "FaultKind",
    "LedgerEntry",
    "PortalStats",
    "RecordedRequest",
    "SimulatedCall",
    "DeliveredEvent",
    "IssuedTokens",
]

#: What :meth:`FakePortal.add_fault` can do to a request (the portal's own names).
FaultKind = Literal[
    "delay",
    "close_before_execute",
    "close_after_execute",
    "html_502",
    "html_504",
    "truncated_json",
    "rename",
    "overload",
    "query_limit",
    "operation_time_limit",
    "respond",
    "redirect",
]


@dataclass(frozen=True)
class LedgerEntry:
    """A call the portal placed (``voximplant.callback.start`` succeeded)."""

    #: ``None`` for a REST-application line.
    call_id: Optional[str]
    line: str
    #: ``TO_NUMBER`` as the portal keeps it (digits and ``+#*,;``); not in ``repr``.
    number: str = field(repr=False)
    text: str = field(repr=False)
    voice: Optional[str]
    #: Unix time, seconds.
    placed_at: float
    #: :attr:`RecordedRequest.number` of the request that placed it.
    request_number: int


@dataclass(frozen=True)
class PortalStats:
    """The portal's counters since it started (or its last :meth:`FakePortal.reset`)."""

    requests: int
    rest_requests: int
    token_requests: int
    refreshes: int
    refresh_failures: int
    rate_limited: int
    operation_time_limited: int
    auth_failures: int
    callback_requests: int
    calls_placed: int
    faults_applied: int
    events_delivered: int
    events_failed: int


@dataclass(frozen=True)
class RecordedRequest:
    """A request the portal received (the admin endpoint's are not recorded). The path,
    query and body hold secrets and numbers: they are left out of ``repr``."""

    number: int
    http_method: str
    path: str = field(repr=False)
    query: str = field(repr=False)
    host: str
    #: Lower-cased, without ``.json``; ``None`` outside ``/rest/``.
    rest_method: Optional[str]
    content_type: Optional[str]
    user_agent: Optional[str]
    body: str = field(repr=False)
    #: The status answered; ``None`` when the connection was closed without one.
    status: Optional[int]


@dataclass(frozen=True)
class SimulatedCall:
    """A placed call as the portal simulates it."""

    call_id: str
    line: str
    number: str = field(repr=False)
    #: ``ringing_manager``, ``speaking_text``, ``dialling_client``, ``connected``, ``ended``.
    stage: str
    #: Once ended: ``answered``, ``busy``, ``no_answer``, ``declined``, ...
    outcome: Optional[str]
    failed_code: Optional[str]
    duration: int


@dataclass(frozen=True)
class DeliveredEvent:
    """A telephony event the portal POSTed (or tried to) to its event handler."""

    event: str
    call_id: str
    handler_url: str
    #: The form-urlencoded body (it holds the application token and the number).
    body: str = field(repr=False)
    status: Optional[int]
    error: Optional[str]


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh OAuth pair of the portal's application, with everything else
    ``Client.from_oauth`` needs. Secrets are left out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    client_id: str
    client_secret: str = field(repr=False)
    client_endpoint: str
    server_endpoint: str


class FakePortal:
    """A fake Bitrix24 portal on ``127.0.0.1`` (a free port unless ``port`` is given), started
    at once and stopped by :meth:`close` or at the end of a ``with`` block.

    Options (each ``None`` keeps the portal's default):

    * ``tls``: serve HTTPS with a certificate of its own CA (:attr:`ca_pem`; pass it to a
      client as ``root_certificates=portal.ca_pem``).
    * ``burst``, ``drain_per_second``: its leaky bucket (50, 2/s); a request above it is
      answered ``QUERY_LIMIT_EXCEEDED``.
    * ``stage_ms``: how long each stage of a simulated call lasts (1000).
    * ``operating_limit_ms``, ``callback_processing_ms``: the per-method time budget of 10
      minutes (480 s) and what each start counts against it (1 s).
    * ``access_token_lifetime_ms`` (one hour), ``webhook_user_id``, ``webhook_secret``,
      ``webhook_scopes``, ``oauth_client_id``, ``oauth_client_secret``, ``oauth_scopes``,
      ``application_token``, ``outgoing_call_permission``, ``line_list_permission``,
      ``empty_error_code``, ``lines`` (line id → name), ``rest_app_lines``,
      ``event_handler`` (a URL receiving the telephony events).
    """

    def __init__(
        self,
        *,
        tls: bool = False,
        port: int = 0,
        burst: Optional[int] = None,
        drain_per_second: Optional[float] = None,
        stage_ms: Optional[float] = None,
        webhook_user_id: Optional[int] = None,
        webhook_secret: Optional[str] = None,
        webhook_scopes: Optional[Sequence[str]] = None,
        oauth_client_id: Optional[str] = None,
        oauth_client_secret: Optional[str] = None,
        oauth_scopes: Optional[Sequence[str]] = None,
        access_token_lifetime_ms: Optional[float] = None,
        operating_limit_ms: Optional[float] = None,
        callback_processing_ms: Optional[float] = None,
        outgoing_call_permission: Optional[bool] = None,
        line_list_permission: Optional[bool] = None,
        empty_error_code: Optional[bool] = None,
        lines: Optional[Mapping[str, str]] = None,
        rest_app_lines: Optional[Sequence[str]] = None,
        application_token: Optional[str] = None,
        event_handler: Optional[str] = None,
    ) -> None:
        self._portal = _FakePortal(
            tls=tls,
            port=port,
            burst=burst,
            drain_per_second=drain_per_second,
            stage_ms=stage_ms,
            webhook_user_id=webhook_user_id,
            webhook_secret=webhook_secret,
            webhook_scopes=None if webhook_scopes is None else list(webhook_scopes),
            oauth_client_id=oauth_client_id,
            oauth_client_secret=oauth_client_secret,
            oauth_scopes=None if oauth_scopes is None else list(oauth_scopes),
            access_token_lifetime_ms=access_token_lifetime_ms,
            operating_limit_ms=operating_limit_ms,
            callback_processing_ms=callback_processing_ms,
            outgoing_call_permission=outgoing_call_permission,
            line_list_permission=line_list_permission,
            empty_error_code=empty_error_code,
            lines=None if lines is None else list(lines.items()),
            rest_app_lines=None if rest_app_lines is None else list(rest_app_lines),
            application_token=application_token,
            event_handler=event_handler,
        )

    # ----- where it listens

    @property
    def webhook_url(self) -> str:
        """``http://127.0.0.1:PORT/rest/1/SECRET/``: pass it to ``Client.from_webhook``."""
        return self._portal.webhook_url

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with ``tls=True``), no trailing slash."""
        return self._portal.base_url

    @property
    def client_endpoint(self) -> str:
        """``{base_url}/rest/``: the OAuth ``client_endpoint``."""
        return self._portal.client_endpoint

    @property
    def server_endpoint(self) -> str:
        """``{base_url}/rest/``: the OAuth ``server_endpoint`` (its token server is here too)."""
        return self._portal.server_endpoint

    @property
    def admin_url(self) -> str:
        """``{base_url}/_fake/``: the JSON admin endpoint (config, faults, events, ...)."""
        return self._portal.admin_url

    @property
    def ca_pem(self) -> Optional[str]:
        """The PEM of the CA that signed its certificate (``tls=True``), else ``None``."""
        return self._portal.ca_pem

    def info(self) -> Dict[str, Any]:
        """URLs, credentials (webhook secret, OAuth client, application token) and config."""
        result: Dict[str, Any] = json.loads(self._portal.info_json())
        return result

    @property
    def application_token(self) -> str:
        """The ``auth[application_token]`` of its telephony events (for ``parse_event``)."""
        token: str = self.info()["application_token"]
        return token

    # ----- what it saw

    def ledger(self) -> List[LedgerEntry]:
        """Every call placed, in order."""
        return [LedgerEntry(**e) for e in self._portal.ledger()]

    def stats(self) -> PortalStats:
        return PortalStats(**self._portal.stats())

    def requests(self) -> List[RecordedRequest]:
        """The requests received, in order (the last 10,000)."""
        return [RecordedRequest(**r) for r in self._portal.requests()]

    def calls(self) -> List[SimulatedCall]:
        """Every simulated call, in the order placed."""
        return [SimulatedCall(**c) for c in self._portal.calls()]

    def events(self) -> List[DeliveredEvent]:
        """The telephony events sent so far (delivered or not)."""
        return [DeliveredEvent(**e) for e in self._portal.events()]

    # ----- what it does

    def add_fault(
        self,
        kind: FaultKind,
        *,
        method: Optional[str] = None,
        times: int = 1,
        host: Optional[str] = None,
        delay_ms: float = 0.0,
        status: Optional[int] = None,
        body: Any = None,
        content_type: Optional[str] = None,
        location: Optional[str] = None,
        execute: bool = False,
    ) -> None:
        """Makes the next ``times`` requests (``0``: every one until :meth:`clear_faults`) of
        REST ``method`` (``None``: any; ``"oauth.token"``: the token endpoint), to ``host`` if
        given, fail as ``kind`` says:

        * ``delay`` (``delay_ms``), then the normal answer;
        * ``close_before_execute`` / ``close_after_execute``: the connection closes without an
          answer, before or after the request ran (a start placed its call);
        * ``html_502`` (not run) / ``html_504`` (run): a proxy's HTML error page;
        * ``truncated_json``: run, then half of the JSON answer;
        * ``rename``: 302 to the same URL on host ``localhost`` (a renamed portal) until cleared;
        * ``overload`` (503 ``OVERLOAD_LIMIT``), ``query_limit`` (503 ``QUERY_LIMIT_EXCEEDED``),
          ``operation_time_limit`` (429), none of them run;
        * ``respond``: exactly ``status`` and ``body`` (a ``str``, or JSON of any other value),
          with ``content_type``; run first if ``execute``;
        * ``redirect``: ``status`` (3xx) to ``location``; run first if ``execute``.

        ``body`` and ``location`` may contain ``{path}``, ``{call_id}``, ``{port}`` and
        ``{scheme}``. ``ValueError`` for an unknown kind or a value the portal cannot send.
        """
        text = body if body is None or isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        self._portal.add_fault(
            kind,
            method=method,
            times=times,
            host=host,
            delay_ms=delay_ms,
            status=status,
            body=text,
            content_type=content_type,
            location=location,
            execute=execute,
        )

    def clear_faults(self) -> None:
        """Removes every scripted fault (an active ``rename`` too)."""
        self._portal.clear_faults()

    def reset(self) -> None:
        """Clears the ledger, calls, statistics, requests, counters, faults, events, the bucket
        and the time budgets. Tokens and options stay."""
        self._portal.reset()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers ``expired_token`` (a client then
        refreshes)."""
        self._portal.expire_access_tokens()

    def issue_tokens(self) -> IssuedTokens:
        """A fresh OAuth pair of its application."""
        return IssuedTokens(**self._portal.issue_tokens())

    # ----- lifetime

    @property
    def closed(self) -> bool:
        return self._portal.closed

    def close(self) -> None:
        """Stops the portal and closes its connections. Closing twice is harmless."""
        self._portal.close()

    def __enter__(self) -> FakePortal:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<FakePortal stopped>"
        return f"<FakePortal {self.base_url}>"

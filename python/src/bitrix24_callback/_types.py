"""Immutable result types returned by the client (built by the native module).

They are frozen dataclasses: comparable, picklable, and their ``repr`` never shows a secret
or a full phone number.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, Literal, Optional

__all__ = [
    "NumberType",
    "Destination",
    "CallOutcome",
    "PortalTime",
    "Timing",
    "CallbackStarted",
    "Line",
    "Voice",
    "CallRecord",
    "TelephonyEvent",
    "TokenPair",
]


#: What a number is, per libphonenumber (``CallbackRequest.number_type``,
#: ``Destination.number_type``; the names ``allowed_number_types`` takes).
NumberType = Literal[
    "fixed_line",
    "mobile",
    "fixed_line_or_mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "unknown",
]


@dataclass(frozen=True)
class Destination:
    """Where a checked request would ring (``Client.check_callback``).

    ``number`` is the full E.164 number, left out of ``repr``: log ``masked_number``.
    """

    #: E.164, e.g. ``+12015550123``.
    number: str = field(repr=False)
    #: The number with all but the country code and the last two digits hidden.
    masked_number: str
    #: ISO 3166 alpha-2 region (``"001"`` for the international networks), when known.
    region: Optional[str]
    number_type: NumberType


class CallOutcome(str, enum.Enum):
    """What became of a call (from Bitrix24's ``CALL_FAILED_CODE``)."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PortalTime:
    """The portal's own ``time`` object of an answer; every field is optional."""

    start: Optional[float] = None
    finish: Optional[float] = None
    duration: Optional[float] = None
    processing: Optional[float] = None
    date_start: Optional[str] = None
    date_finish: Optional[str] = None
    operating: Optional[float] = None
    operating_reset_at: Optional[int] = None


@dataclass(frozen=True)
class Timing:
    """Where the time of a call went. Durations are in seconds."""

    #: From entering ``start_callback`` to its return.
    total: float
    #: Time spent waiting for the local rate limiter.
    limiter_wait: float
    #: HTTP requests sent (retries, token-refresh resends and rename re-POSTs included).
    attempts: int
    #: The portal's ``time`` object of the successful answer, when it sent one.
    portal: Optional[PortalTime] = None


@dataclass(frozen=True)
class CallbackStarted:
    """A callback the portal accepted."""

    #: ``None`` for lines that belong to a telephony REST application.
    call_id: Optional[str]
    #: ``True`` when this is the remembered answer to an earlier call with the same
    #: idempotency key: the portal was not called again.
    deduplicated: bool
    timing: Timing
    #: The portal's new address when it answered 302 (it was renamed).
    portal_moved_to: Optional[str] = None


@dataclass(frozen=True)
class Line:
    """A line usable as ``line=`` (``voximplant.line.get``)."""

    id: str
    name: str


@dataclass(frozen=True)
class Voice:
    """A text-to-speech voice (``voximplant.tts.voices.get``)."""

    id: str
    name: str


@dataclass(frozen=True)
class CallRecord:
    """A finished call (``voximplant.statistic.get``); the number is kept masked."""

    call_id: str
    outcome: CallOutcome
    #: Raw ``CALL_FAILED_CODE``, e.g. ``"486"``.
    failed_code: str
    duration_seconds: int
    #: ``CALL_TYPE`` (4 = callback).
    call_type: Optional[int] = None
    failed_reason: Optional[str] = None
    start_date: Optional[str] = None
    masked_number: Optional[str] = None
    cost: Optional[str] = None
    cost_currency: Optional[str] = None


@dataclass(frozen=True)
class TelephonyEvent:
    """A verified telephony event (``ONVOXIMPLANTCALLEND`` ...).

    ``data`` holds the raw ``data[...]`` values (including ``PHONE_NUMBER``), so it is left
    out of ``repr``.
    """

    event: str
    call_id: Optional[str]
    outcome: Optional[CallOutcome]
    data: Dict[str, str] = field(default_factory=dict, repr=False, hash=False)
    ts: Optional[int] = None
    domain: Optional[str] = None
    member_id: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class TokenPair:
    """A rotated OAuth token pair, handed to ``on_tokens`` before it is used.

    Persist both tokens together; the old refresh token no longer works.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    #: Seconds until the access token expires, as the token server said.
    expires_in: Optional[int] = None
    #: Unix time at which the access token expires, as the token server said.
    expires_at: Optional[int] = None
    client_endpoint: Optional[str] = None
    server_endpoint: Optional[str] = None

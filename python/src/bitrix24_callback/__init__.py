"""Start Bitrix24 telephony callbacks (``voximplant.callback.start``) safely.

Typical use::

    from bitrix24_callback import Client, CallbackError

    client = Client.from_webhook("https://example.bitrix24.com/rest/1/SECRET/",
                                 default_region="US", allowed_regions=["US"])
    started = client.start_callback(line="reg1", to="(201) 555-0123",
                                    text="A visitor asked for a call back")
    print(started.call_id)

Every network call releases the GIL; :class:`AsyncClient` offers the same calls as
coroutines. Log records go to the :mod:`logging` logger ``bitrix24_callback``.
"""

from ._native import (
    ERROR_CODES,
    KNOWN_VOICES,
    MAX_TEXT_CHARS,
    CallbackRequest,
    CancelToken,
    Client,
    __version__,
    build_request,
    classify_response,
    mask_number,
    parse_event,
)
from ._types import (
    CallbackStarted,
    CallOutcome,
    CallRecord,
    Destination,
    Line,
    NumberType,
    PortalTime,
    TelephonyEvent,
    Timing,
    TokenPair,
    Voice,
)
from .aio import AsyncClient
from .errors import (
    ERROR_CLASSES,
    AccessDeniedError,
    AuthFailedError,
    CallbackError,
    DestinationBlockedError,
    InsufficientScopeError,
    InvalidRequestError,
    LineNotFoundError,
    NumberRejectedError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    PortalError,
    RateLimitedError,
    SharedStateUnavailableError,
    TransportError,
    Violation,
)

__all__ = [
    "__version__",
    # clients
    "Client",
    "AsyncClient",
    "CancelToken",
    # requests and results
    "CallbackRequest",
    "CallbackStarted",
    "CallOutcome",
    "CallRecord",
    "Destination",
    "Line",
    "NumberType",
    "PortalTime",
    "TelephonyEvent",
    "Timing",
    "TokenPair",
    "Voice",
    # functions
    "build_request",
    "classify_response",
    "mask_number",
    "parse_event",
    # constants
    "ERROR_CODES",
    "KNOWN_VOICES",
    "MAX_TEXT_CHARS",
    # errors
    "ERROR_CLASSES",
    "CallbackError",
    "Violation",
    "InvalidRequestError",
    "DestinationBlockedError",
    "RateLimitedError",
    "OperationTimeLimitError",
    "AuthFailedError",
    "InsufficientScopeError",
    "AccessDeniedError",
    "LineNotFoundError",
    "NumberRejectedError",
    "PortalError",
    "TransportError",
    "SharedStateUnavailableError",
    "OutcomeUnknownError",
]

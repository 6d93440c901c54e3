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
:mod:`bitrix24_callback.testing` runs a fake Bitrix24 portal in your tests.

Importing the package loads only the native module: the result types, the exceptions and
:class:`AsyncClient` (with :mod:`asyncio`) are imported when first used.
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

# `typing` is not imported at run time (it costs milliseconds); type checkers treat any
# `TYPE_CHECKING` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
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
        ErrorCode,
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

#: The submodule of each name imported on first use.
_LAZY = {
    **dict.fromkeys(
        (
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
        ),
        "_types",
    ),
    "AsyncClient": "aio",
    **dict.fromkeys(
        (
            "ERROR_CLASSES",
            "AccessDeniedError",
            "AuthFailedError",
            "CallbackError",
            "DestinationBlockedError",
            "ErrorCode",
            "InsufficientScopeError",
            "InvalidRequestError",
            "LineNotFoundError",
            "NumberRejectedError",
            "OperationTimeLimitError",
            "OutcomeUnknownError",
            "PortalError",
            "RateLimitedError",
            "SharedStateUnavailableError",
            "TransportError",
            "Violation",
        ),
        "errors",
    ),
}

if not TYPE_CHECKING:  # hidden from type checkers, which would then accept any name

    def __getattr__(name):
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
        globals()[name] = value
        return value

    def __dir__():
        return sorted(set(globals()) | set(_LAZY))


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
    "ErrorCode",
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

"""Exceptions raised by bitrix24_callback.

Every failure is a :class:`CallbackError` with a stable snake_case :attr:`~CallbackError.code`
and :attr:`~CallbackError.retry_safe`, which is ``True`` only when the portal certainly did not
start a call (so trying again cannot ring anybody twice). There is one subclass per code, so
callers can write ``except OutcomeUnknownError:``.

The classes are defined here, in Python, and raised by the native module; they pickle and
unpickle with all their attributes, so they survive Celery and multiprocessing.
Their messages never contain a secret or a full phone number.
"""

from __future__ import annotations

from typing import Any, Dict, Literal, NamedTuple, Optional, Sequence, Tuple, Type

__all__ = [
    "ErrorCode",
    "Violation",
    "CallbackError",
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
    "ERROR_CLASSES",
]


#: The stable codes of :attr:`CallbackError.code`, one per exception class (the same in every
#: language of the library; ``ERROR_CODES`` lists them at run time).
ErrorCode = Literal[
    "invalid_request",
    "destination_blocked",
    "rate_limited",
    "operation_time_limit",
    "auth_failed",
    "insufficient_scope",
    "access_denied",
    "line_not_found",
    "number_rejected",
    "portal_error",
    "transport",
    "shared_state_unavailable",
    "outcome_unknown",
]


class Violation(NamedTuple):
    """One reason an input was refused before any network traffic.

    ``field`` names the input (``"TO_NUMBER"``, ``"FROM_LINE"``, ``"TEXT_TO_PRONOUNCE"``,
    ``"VOICE"``, ``"idempotency_key"``, ``"webhook_url"``, ...), ``code`` is a stable
    snake_case reason, ``message`` is for humans.
    """

    field: str
    code: str
    message: str


def _rebuild(cls: Type[CallbackError], state: Dict[str, Any]) -> CallbackError:
    return cls(**state)


class CallbackError(Exception):
    """Base class of every error of this package.

    Attributes:
        code: stable snake_case code, e.g. ``"outcome_unknown"``.
        retry_safe: ``True`` when the portal certainly did not start a call.
        description: human text without secrets or full phone numbers.
        bitrix_code: Bitrix24's own ``error`` value, when the portal answered with one.
        http_status: HTTP status of the portal's answer, when there was one.
        violations: for ``invalid_request``, every violation found (else empty).
        operating_reset_at: for ``operation_time_limit``, the unix time at which the
            method's time budget resets, when known.
        portal_moved_to: the portal's new address when it answered 302 (renamed).
    """

    #: Set by each subclass (narrowed there to its own code).
    code: ErrorCode
    retry_safe: bool = True

    def __init__(
        self,
        description: str,
        *,
        code: Optional[ErrorCode] = None,
        retry_safe: Optional[bool] = None,
        bitrix_code: Optional[str] = None,
        http_status: Optional[int] = None,
        violations: Sequence[Violation] = (),
        operating_reset_at: Optional[int] = None,
        portal_moved_to: Optional[str] = None,
    ) -> None:
        if code is None:
            code = getattr(type(self), "code", None)
            if code is None:
                raise TypeError("CallbackError needs code=...; or raise one of its subclasses")
        if retry_safe is None:
            retry_safe = type(self).retry_safe
        super().__init__(f"{code}: {description}")
        self.code = code
        self.retry_safe = bool(retry_safe)
        self.description = description
        self.bitrix_code = bitrix_code
        self.http_status = http_status
        self.violations: Tuple[Violation, ...] = tuple(Violation(*v) for v in violations)
        self.operating_reset_at = operating_reset_at
        self.portal_moved_to = portal_moved_to

    def _state(self) -> Dict[str, Any]:
        return {
            "description": self.description,
            "code": self.code,
            "retry_safe": self.retry_safe,
            "bitrix_code": self.bitrix_code,
            "http_status": self.http_status,
            "violations": self.violations,
            "operating_reset_at": self.operating_reset_at,
            "portal_moved_to": self.portal_moved_to,
        }

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild, (type(self), self._state()))

    def __repr__(self) -> str:
        extras = [f"code={self.code!r}", f"retry_safe={self.retry_safe!r}"]
        if self.bitrix_code is not None:
            extras.append(f"bitrix_code={self.bitrix_code!r}")
        if self.http_status is not None:
            extras.append(f"http_status={self.http_status!r}")
        if self.violations:
            extras.append(f"violations={list(self.violations)!r}")
        return f"{type(self).__name__}({self.description!r}, {', '.join(extras)})"


class InvalidRequestError(CallbackError, ValueError):
    """Local validation failed; :attr:`violations` lists every problem. Nothing was sent."""

    code: Literal["invalid_request"] = "invalid_request"


class DestinationBlockedError(CallbackError):
    """The destination policy refused the number (premium rate, region, cooldown, ...)."""

    code: Literal["destination_blocked"] = "destination_blocked"


class RateLimitedError(CallbackError):
    """``QUERY_LIMIT_EXCEEDED``, or the local limiter could not admit the call in time."""

    code: Literal["rate_limited"] = "rate_limited"


class OperationTimeLimitError(CallbackError):
    """HTTP 429 ``OPERATION_TIME_LIMIT``; see :attr:`operating_reset_at`."""

    code: Literal["operation_time_limit"] = "operation_time_limit"


class AuthFailedError(CallbackError):
    """Invalid webhook or token, an expired token that could not be refreshed, ``invalid_grant``."""

    code: Literal["auth_failed"] = "auth_failed"


class InsufficientScopeError(CallbackError):
    """The webhook or application lacks the ``call``/``telephony`` scope."""

    code: Literal["insufficient_scope"] = "insufficient_scope"


class AccessDeniedError(CallbackError):
    """``ACCESS_DENIED``, plan or permission problems, method confirmation, payment."""

    code: Literal["access_denied"] = "access_denied"


class LineNotFoundError(CallbackError):
    """The portal does not know ``line`` ("Could not find line/config ...")."""

    code: Literal["line_not_found"] = "line_not_found"


class NumberRejectedError(CallbackError):
    """The portal refused the number ("Phone number is not correct")."""

    code: Literal["number_rejected"] = "number_rejected"


class PortalError(CallbackError):
    """Any other error answer of the portal, and 503 ``OVERLOAD_LIMIT``."""

    code: Literal["portal_error"] = "portal_error"


class TransportError(CallbackError):
    """Could not connect, resolve or complete the TLS handshake: nothing was sent."""

    code: Literal["transport"] = "transport"


class SharedStateUnavailableError(CallbackError):
    """The ``shared_state`` Redis could not be reached or answered wrongly: nothing was sent.

    The client never falls back to its own memory (other workers would not see what it
    decided); try again once Redis is back.
    """

    code: Literal["shared_state_unavailable"] = "shared_state_unavailable"


class OutcomeUnknownError(CallbackError):
    """The request was sent but no trustworthy answer came back: the call may have started.

    Never retry this automatically; look the call up (or ask a human) first.
    """

    code: Literal["outcome_unknown"] = "outcome_unknown"
    retry_safe = False


#: Every error class by its code.
ERROR_CLASSES: Dict[ErrorCode, Type[CallbackError]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        DestinationBlockedError,
        RateLimitedError,
        OperationTimeLimitError,
        AuthFailedError,
        InsufficientScopeError,
        AccessDeniedError,
        LineNotFoundError,
        NumberRejectedError,
        PortalError,
        TransportError,
        SharedStateUnavailableError,
        OutcomeUnknownError,
    )
}

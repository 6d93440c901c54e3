"""Type stubs of the native module (checked against it by ``python -m mypy.stubtest``)."""

from datetime import timedelta
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, Union, final

from typing_extensions import Never, Self

from ._types import (
    CallbackStarted,
    CallRecord,
    Destination,
    Line,
    NumberType,
    TelephonyEvent,
    TokenPair,
    Voice,
)
from .errors import CallbackError, ErrorCode

__all__ = [
    "__version__",
    "CORE_VERSION",
    "KNOWN_VOICES",
    "MAX_TEXT_CHARS",
    "ERROR_CODES",
    "LOGGER_NAME",
    "Client",
    "CancelToken",
    "CallbackRequest",
    "build_request",
    "classify_response",
    "parse_event",
    "mask_number",
    "_make_error",
    "_wait_plan",
    "_TEST_HOOKS",
    "_FakePortal",
]

__version__: str
CORE_VERSION: str
KNOWN_VOICES: Tuple[str, ...]
MAX_TEXT_CHARS: int
ERROR_CODES: Tuple[ErrorCode, ...]
LOGGER_NAME: str
_TEST_HOOKS: bool

#: Seconds as ``int``/``float``, or a :class:`datetime.timedelta`.
_Seconds = Union[float, timedelta]
#: ``"standard"``, ``"enterprise"``, ``"off"`` or ``(burst, per_second)``.
_RateLimit = Union[str, Tuple[int, float]]
#: PEM text (may hold several certificates), or a list of them.
_Pem = Union[str, bytes, Sequence[Union[str, bytes]]]

@final
class CancelToken:
    def __new__(cls) -> CancelToken: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

@final
class CallbackRequest:
    # Raises TypeError: requests come from build_request(...).
    def __new__(cls, *_args: Never, **_kwargs: Never) -> Self: ...
    @property
    def line(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def voice(self) -> Optional[str]: ...
    @property
    def idempotency_key(self) -> Optional[str]: ...
    @property
    def destination_region(self) -> Optional[str]: ...
    @property
    def number_type(self) -> NumberType: ...
    @property
    def calling_code(self) -> int: ...
    @property
    def masked_number(self) -> str: ...
    @property
    def wire_body(self) -> str: ...

@final
class Client:
    # Raises TypeError naming the constructors below.
    def __new__(cls, *_args: Never, **_kwargs: Never) -> Self: ...
    @classmethod
    def from_webhook(
        cls,
        url: str,
        *,
        connect_timeout: Optional[_Seconds] = None,
        timeout: Optional[_Seconds] = None,
        deadline: Optional[_Seconds] = None,
        rate_limit: Optional[_RateLimit] = None,
        root_certificates: Optional[_Pem] = None,
        user_agent_suffix: Optional[str] = None,
        default_region: Optional[str] = None,
        allow_unknown_voice: Optional[bool] = None,
        allowed_regions: Optional[Sequence[str]] = None,
        blocked_regions: Optional[Sequence[str]] = None,
        allowed_prefixes: Optional[Sequence[str]] = None,
        blocked_prefixes: Optional[Sequence[str]] = None,
        block_costly_numbers: Optional[bool] = None,
        allowed_number_types: Optional[Sequence[NumberType]] = None,
        high_risk_regions: Optional[Sequence[str]] = None,
        number_cooldown: Optional[_Seconds] = None,
        number_hourly_cap: Optional[int] = None,
        dedupe_window: Optional[_Seconds] = None,
        shared_state: Optional[str] = None,
        shared_state_prefix: Optional[str] = None,
    ) -> Client: ...
    @classmethod
    def from_oauth(
        cls,
        *,
        client_id: str,
        client_secret: str,
        access_token: str,
        refresh_token: str,
        client_endpoint: str,
        server_endpoint: str,
        on_tokens: Optional[Callable[[TokenPair], object]] = None,
        connect_timeout: Optional[_Seconds] = None,
        timeout: Optional[_Seconds] = None,
        deadline: Optional[_Seconds] = None,
        rate_limit: Optional[_RateLimit] = None,
        root_certificates: Optional[_Pem] = None,
        user_agent_suffix: Optional[str] = None,
        default_region: Optional[str] = None,
        allow_unknown_voice: Optional[bool] = None,
        allowed_regions: Optional[Sequence[str]] = None,
        blocked_regions: Optional[Sequence[str]] = None,
        allowed_prefixes: Optional[Sequence[str]] = None,
        blocked_prefixes: Optional[Sequence[str]] = None,
        block_costly_numbers: Optional[bool] = None,
        allowed_number_types: Optional[Sequence[NumberType]] = None,
        high_risk_regions: Optional[Sequence[str]] = None,
        number_cooldown: Optional[_Seconds] = None,
        number_hourly_cap: Optional[int] = None,
        dedupe_window: Optional[_Seconds] = None,
        shared_state: Optional[str] = None,
        shared_state_prefix: Optional[str] = None,
    ) -> Client: ...
    @classmethod
    def from_env(
        cls,
        *,
        connect_timeout: Optional[_Seconds] = None,
        timeout: Optional[_Seconds] = None,
        deadline: Optional[_Seconds] = None,
        rate_limit: Optional[_RateLimit] = None,
        root_certificates: Optional[_Pem] = None,
        user_agent_suffix: Optional[str] = None,
        default_region: Optional[str] = None,
        allow_unknown_voice: Optional[bool] = None,
        allowed_regions: Optional[Sequence[str]] = None,
        blocked_regions: Optional[Sequence[str]] = None,
        allowed_prefixes: Optional[Sequence[str]] = None,
        blocked_prefixes: Optional[Sequence[str]] = None,
        block_costly_numbers: Optional[bool] = None,
        allowed_number_types: Optional[Sequence[NumberType]] = None,
        high_risk_regions: Optional[Sequence[str]] = None,
        number_cooldown: Optional[_Seconds] = None,
        number_hourly_cap: Optional[int] = None,
        dedupe_window: Optional[_Seconds] = None,
        shared_state: Optional[str] = None,
        shared_state_prefix: Optional[str] = None,
    ) -> Client: ...
    def start_callback(
        self,
        *,
        line: str,
        to: str,
        text: str,
        voice: Optional[str] = None,
        idempotency_key: Optional[str] = None,
        cancel: Optional[CancelToken] = None,
    ) -> CallbackStarted: ...
    def check_callback(
        self,
        *,
        line: str,
        to: str,
        text: str,
        voice: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Destination: ...
    def lines(self) -> List[Line]: ...
    def voices(self) -> List[Voice]: ...
    def call_record(self, call_id: str) -> Optional[CallRecord]: ...
    def wait_for_outcome(self, call_id: str, *, timeout: _Seconds = 120.0) -> Optional[CallRecord]: ...
    @property
    def portal(self) -> str: ...
    @property
    def auth_kind(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Client: ...
    def __exit__(
        self,
        *exc_info: Union[Optional[Type[BaseException]], Optional[BaseException], Optional[TracebackType]],
    ) -> bool: ...

def build_request(
    *,
    line: str,
    to: str,
    text: str,
    voice: Optional[str] = None,
    idempotency_key: Optional[str] = None,
    default_region: Optional[str] = None,
    allow_unknown_voice: bool = False,
) -> CallbackRequest: ...
def classify_response(status: int, body: Union[bytes, bytearray, str]) -> Optional[CallbackError]: ...
def parse_event(body: Union[bytes, bytearray, str], application_token: str) -> TelephonyEvent: ...
def mask_number(number: str) -> str: ...
def _make_error(code: str, description: str) -> CallbackError: ...
def _wait_plan(timeout: _Seconds) -> Tuple[float, float, float, float]: ...
@final
class _FakePortal:
    def __new__(
        cls,
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
        lines: Optional[Sequence[Tuple[str, str]]] = None,
        rest_app_lines: Optional[Sequence[str]] = None,
        application_token: Optional[str] = None,
        event_handler: Optional[str] = None,
    ) -> _FakePortal: ...
    @property
    def base_url(self) -> str: ...
    @property
    def webhook_url(self) -> str: ...
    @property
    def client_endpoint(self) -> str: ...
    @property
    def server_endpoint(self) -> str: ...
    @property
    def admin_url(self) -> str: ...
    @property
    def ca_pem(self) -> Optional[str]: ...
    def info_json(self) -> str: ...
    def ledger(self) -> List[Dict[str, Any]]: ...
    def stats(self) -> Dict[str, int]: ...
    def requests(self) -> List[Dict[str, Any]]: ...
    def calls(self) -> List[Dict[str, Any]]: ...
    def events(self) -> List[Dict[str, Any]]: ...
    def add_fault(
        self,
        kind: str,
        *,
        method: Optional[str] = None,
        times: int = 1,
        host: Optional[str] = None,
        delay_ms: float = 0.0,
        status: Optional[int] = None,
        body: Optional[str] = None,
        content_type: Optional[str] = None,
        location: Optional[str] = None,
        execute: bool = False,
    ) -> None: ...
    def clear_faults(self) -> None: ...
    def reset(self) -> None: ...
    def expire_access_tokens(self) -> None: ...
    def issue_tokens(self) -> Dict[str, Any]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...

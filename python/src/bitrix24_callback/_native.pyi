"""Type stubs of the native module (checked against it by ``python -m mypy.stubtest``)."""

from datetime import timedelta
from types import TracebackType
from typing import Callable, List, Optional, Sequence, Tuple, Type, Union, final

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
from .errors import CallbackError

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
]

__version__: str
CORE_VERSION: str
KNOWN_VOICES: Tuple[str, ...]
MAX_TEXT_CHARS: int
ERROR_CODES: Tuple[str, ...]
LOGGER_NAME: str

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

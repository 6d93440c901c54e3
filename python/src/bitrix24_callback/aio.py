"""asyncio front end: the same calls as :class:`~bitrix24_callback.Client`, as coroutines.

Each call runs the blocking client in a worker thread (the native code releases the GIL), so
the event loop keeps running while a request is in flight. Cancelling a ``start_callback``
task also cancels its wait for the rate limiter or a back-off; a request that is already on
the wire cannot be recalled, and its outcome is then unknown to the caller.

``wait_for_outcome`` holds no thread while it waits: it sleeps on the event loop's timers
between single ``voximplant.statistic.get`` requests (each in a worker thread), so cancelling
it (``asyncio.wait_for``, ``task.cancel()``) stops the polling at once, and many waits at a
time leave the executor free for other work.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import Executor
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Type, TypedDict, TypeVar

from ._native import CancelToken, Client, _wait_plan
from ._types import CallbackStarted, CallRecord, Destination, Line, NumberType, TokenPair, Voice

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._native import _Pem, _RateLimit, _Seconds

__all__ = ["AsyncClient"]

T = TypeVar("T")


class _ClientOptions(TypedDict, total=False):
    """The option keywords of ``Client.from_webhook`` / ``Client.from_oauth`` (for typing)."""

    connect_timeout: Optional[_Seconds]
    timeout: Optional[_Seconds]
    deadline: Optional[_Seconds]
    rate_limit: Optional[_RateLimit]
    root_certificates: Optional[_Pem]
    user_agent_suffix: Optional[str]
    default_region: Optional[str]
    allow_unknown_voice: Optional[bool]
    allowed_regions: Optional[Sequence[str]]
    blocked_regions: Optional[Sequence[str]]
    allowed_prefixes: Optional[Sequence[str]]
    blocked_prefixes: Optional[Sequence[str]]
    block_costly_numbers: Optional[bool]
    allowed_number_types: Optional[Sequence[NumberType]]
    high_risk_regions: Optional[Sequence[str]]
    number_cooldown: Optional[_Seconds]
    number_hourly_cap: Optional[int]
    dedupe_window: Optional[_Seconds]
    shared_state: Optional[str]
    shared_state_prefix: Optional[str]


class AsyncClient:
    """An asyncio wrapper around a :class:`Client` (which it owns unless given one).

    Create it like the blocking client::

        async with AsyncClient.from_webhook(url, default_region="US") as client:
            started = await client.start_callback(line="reg1", to="(201) 555-0123", text="Hi")

    ``executor`` chooses the thread pool (default: the loop's default executor).
    """

    def __init__(self, client: Client, *, executor: Optional[Executor] = None) -> None:
        if not isinstance(client, Client):
            raise TypeError(
                "AsyncClient(client) wraps a bitrix24_callback.Client, not a "
                f"{type(client).__name__}: use AsyncClient.from_webhook(url), "
                "AsyncClient.from_oauth(...) or AsyncClient.from_env()"
            )
        self._client = client
        self._executor = executor

    @classmethod
    def from_webhook(
        cls, url: str, *, executor: Optional[Executor] = None, **options: Unpack[_ClientOptions]
    ) -> AsyncClient:
        """Like :meth:`Client.from_webhook`; building the client does no network I/O."""
        return cls(Client.from_webhook(url, **options), executor=executor)

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
        executor: Optional[Executor] = None,
        **options: Unpack[_ClientOptions],
    ) -> AsyncClient:
        """Like :meth:`Client.from_oauth`. ``on_tokens`` is called in a worker thread."""
        client = Client.from_oauth(
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            refresh_token=refresh_token,
            client_endpoint=client_endpoint,
            server_endpoint=server_endpoint,
            on_tokens=on_tokens,
            **options,
        )
        return cls(client, executor=executor)

    @classmethod
    def from_env(
        cls, *, executor: Optional[Executor] = None, **options: Unpack[_ClientOptions]
    ) -> AsyncClient:
        """Like :meth:`Client.from_env`: the command line's ``BITRIX24_...`` variables, each
        keyword given here in place of its variable."""
        return cls(Client.from_env(**options), executor=executor)

    @property
    def sync(self) -> Client:
        """The blocking client underneath (shares everything with this one)."""
        return self._client

    @property
    def portal(self) -> str:
        return self._client.portal

    @property
    def closed(self) -> bool:
        return self._client.closed

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def start_callback(
        self,
        *,
        line: str,
        to: str,
        text: str,
        voice: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> CallbackStarted:
        """See :meth:`Client.start_callback`."""
        token = CancelToken()
        try:
            return await self._run(
                self._client.start_callback,
                line=line,
                to=to,
                text=text,
                voice=voice,
                idempotency_key=idempotency_key,
                cancel=token,
            )
        except asyncio.CancelledError:
            # Stop waiting for the limiter; a request already sent cannot be recalled.
            token.cancel()
            raise

    async def check_callback(
        self,
        *,
        line: str,
        to: str,
        text: str,
        voice: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Destination:
        """See :meth:`Client.check_callback` (no network traffic; run in a worker thread like
        the other calls, since it shares the client's memory with calls in flight)."""
        return await self._run(
            self._client.check_callback,
            line=line,
            to=to,
            text=text,
            voice=voice,
            idempotency_key=idempotency_key,
        )

    async def lines(self) -> List[Line]:
        return await self._run(self._client.lines)

    async def voices(self) -> List[Voice]:
        return await self._run(self._client.voices)

    async def call_record(self, call_id: str) -> Optional[CallRecord]:
        return await self._run(self._client.call_record, call_id)

    async def wait_for_outcome(self, call_id: str, *, timeout: _Seconds = 120.0) -> Optional[CallRecord]:
        """See :meth:`Client.wait_for_outcome`: polls ``call_record`` until the record appears
        or ``timeout`` seconds pass (then ``None``), on the same schedule, with the same
        failures forgiven, but sleeping on the event loop, not in a thread. Cancel it at any
        time: no poll follows."""
        limit, delay, factor, longest = _wait_plan(timeout)
        loop = asyncio.get_running_loop()
        until = loop.time() + limit
        while True:
            # One poll (`timeout=0`): the core forgives a transient failure and answers None.
            record = await self._run(self._client.wait_for_outcome, call_id, timeout=0)
            if record is not None:
                return record
            left = until - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(delay, left))
            delay = min(delay * factor, longest)

    async def aclose(self) -> None:
        """Closes the underlying client (in a worker thread)."""
        await self._run(self._client.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<AsyncClient of {self._client!r}>"

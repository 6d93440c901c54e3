"""The error classes: one per core code, attributes, pickling (Celery), messages."""

from __future__ import annotations

import copy
import pickle

import pytest

import bitrix24_callback as b
from bitrix24_callback import _native

EXPECTED = {
    "invalid_request": b.InvalidRequestError,
    "destination_blocked": b.DestinationBlockedError,
    "rate_limited": b.RateLimitedError,
    "operation_time_limit": b.OperationTimeLimitError,
    "auth_failed": b.AuthFailedError,
    "insufficient_scope": b.InsufficientScopeError,
    "access_denied": b.AccessDeniedError,
    "line_not_found": b.LineNotFoundError,
    "number_rejected": b.NumberRejectedError,
    "portal_error": b.PortalError,
    "transport": b.TransportError,
    "shared_state_unavailable": b.SharedStateUnavailableError,
    "outcome_unknown": b.OutcomeUnknownError,
}


def test_the_core_codes_are_exactly_the_documented_ones() -> None:
    assert set(b.ERROR_CODES) == set(EXPECTED)
    assert len(b.ERROR_CODES) == 13
    assert b.ERROR_CLASSES == EXPECTED


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_each_core_code_raises_its_own_class(code: str) -> None:
    err = _native._make_error(code, "something happened")
    cls = EXPECTED[code]
    assert type(err) is cls
    assert isinstance(err, b.CallbackError)
    assert isinstance(err, Exception)
    assert err.code == code == cls.code
    assert err.retry_safe is (code != "outcome_unknown")
    assert err.description == "something happened"
    assert str(err) == f"{code}: something happened"
    assert err.bitrix_code is None and err.http_status is None
    assert err.violations == ()


def test_invalid_request_is_also_a_value_error() -> None:
    assert issubclass(b.InvalidRequestError, ValueError)
    with pytest.raises(ValueError):
        b.build_request(line="reg1", to="not a number", text="hi")


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError):
        _native._make_error("no_such_code", "x")


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_errors_pickle_with_all_attributes(code: str) -> None:
    err = EXPECTED[code](
        "the description",
        bitrix_code="ERROR_CORE",
        http_status=400,
        violations=[b.Violation("TO_NUMBER", "invalid_number", "not a phone number")],
        operating_reset_at=1_700_000_000,
        portal_moved_to="https://new.bitrix24.com",
    )
    for copied in (pickle.loads(pickle.dumps(err, protocol=p)) for p in range(2, pickle.HIGHEST_PROTOCOL + 1)):
        assert type(copied) is type(err)
        assert copied.code == err.code
        assert copied.retry_safe == err.retry_safe
        assert copied.description == "the description"
        assert copied.bitrix_code == "ERROR_CORE"
        assert copied.http_status == 400
        assert copied.violations == (b.Violation("TO_NUMBER", "invalid_number", "not a phone number"),)
        assert copied.operating_reset_at == 1_700_000_000
        assert copied.portal_moved_to == "https://new.bitrix24.com"
        assert str(copied) == str(err)
        assert copied.args == err.args
    assert copy.deepcopy(err).violations == err.violations


def test_errors_raised_by_the_native_module_pickle() -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.build_request(line="", to="12", text="")
    err = info.value
    assert err.violations, "an invalid request lists its violations"
    copied = pickle.loads(pickle.dumps(err))
    assert type(copied) is b.InvalidRequestError
    assert copied.violations == err.violations
    assert all(isinstance(v, b.Violation) for v in copied.violations)


def test_violations_are_named_tuples() -> None:
    v = b.Violation("VOICE", "unknown_voice", "not a known voice")
    assert (v.field, v.code, v.message) == ("VOICE", "unknown_voice", "not a known voice")
    assert pickle.loads(pickle.dumps(v)) == v


def test_repr_shows_the_code_and_retry_safety() -> None:
    err = _native._make_error("outcome_unknown", "connection lost after sending")
    r = repr(err)
    assert r.startswith("OutcomeUnknownError(")
    assert "retry_safe=False" in r

"""The destination policy and `check_callback`: the shared policy vectors, the phone-number
oracle's examples, what is refused by default, and that a check sends and reserves nothing."""

from __future__ import annotations

import asyncio
import inspect
import json
import pickle
import typing
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List

import pytest

import bitrix24_callback as b
from bitrix24_callback.aio import _ClientOptions
from conftest import VECTORS, FakePortal, fresh_number

WEBHOOK = "http://127.0.0.1:9/rest/1/abcdefghijklmnop/"  # never contacted by a check
TEXT = "A visitor asked for a call back"

PREMIUM_RATE = "+449098790123"  # UK premium rate
SATELLITE = "+881612345678"  # a satellite phone: international network (+881)
JAMAICA = "+18765550123"  # dialled as +1 like a US number, but a high-risk region


def _vectors(name: str) -> Dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


POLICY = _vectors("policy.json")["cases"]
EXAMPLES = _vectors("numbers.json")["examples"]


def _blocked(call: Callable[[], object]) -> b.DestinationBlockedError:
    with pytest.raises(b.DestinationBlockedError) as info:
        call()
    err = info.value
    assert err.code == "destination_blocked" and err.retry_safe
    assert [v.field for v in err.violations] == ["TO_NUMBER"]
    return err


def _code(call: Callable[[], object]) -> str:
    return _blocked(call).violations[0].code


# ----- the shared vectors -----


@pytest.mark.parametrize("case", POLICY, ids=[c["name"] for c in POLICY])
def test_policy_vectors(case: Dict[str, Any]) -> None:
    # The file's policy keys are the keyword names.
    with b.Client.from_webhook(WEBHOOK, **case["policy"]) as client:
        check = lambda: client.check_callback(line="reg1", to=case["number"], text="policy vector")  # noqa: E731
        expect = case["expect"]
        if "code" in expect:
            err = _blocked(check)
            assert err.violations[0].code == expect["code"]
            digits = "".join(c for c in case["number"] if c.isdigit())
            assert digits not in str(err) and digits not in repr(err)
        else:
            d = check()
            assert (d.region, d.number_type) == (expect["region"], expect["type"])


def test_every_example_of_the_phone_number_oracle() -> None:
    assert len(EXAMPLES) > 1000
    wrong: List[str] = []
    for case in EXAMPLES:
        assert case["valid"] is True, case
        try:
            req = b.build_request(
                line="reg1", to=case["input"], text="oracle", default_region=case["region_given"]
            )
        except b.InvalidRequestError as e:
            wrong.append(f"{case['input']}: refused {[v.code for v in e.violations]}")
            continue
        got = (req.to, req.destination_region, req.number_type)
        want = (case["e164"], case["region"], case["type"])
        if got != want:
            wrong.append(f"{case['input']}: {got} != {want}")
    assert not wrong, f"{len(wrong)} of {len(EXAMPLES)} disagree:\n" + "\n".join(wrong[:40])


def test_number_type_names_are_the_cores() -> None:
    names = typing.get_args(b.NumberType)
    assert {c["type"] for c in EXAMPLES} <= set(names)
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(WEBHOOK, allowed_number_types=["landline"])  # type: ignore[list-item]
    # The core's message lists its type names.
    listed = info.value.violations[0].message.split(": ", 1)[1].split(", ")
    assert listed == list(names)


# ----- CallbackRequest -----


def test_a_request_knows_its_type_and_calling_code() -> None:
    req = b.build_request(line="reg1", to="+44 20 7946 0000", text=TEXT)
    assert (req.number_type, req.calling_code, req.destination_region) == ("fixed_line", 44, "GB")
    req = b.build_request(line="reg1", to=SATELLITE, text=TEXT)
    assert (req.number_type, req.calling_code, req.destination_region) == ("mobile", 881, "001")
    req = b.build_request(line="reg1", to="(201) 555-0123", text=TEXT, default_region="US")
    assert (req.number_type, req.calling_code) == ("fixed_line_or_mobile", 1)


# ----- check_callback -----


def test_check_of_an_allowed_destination() -> None:
    with b.Client.from_webhook(WEBHOOK, default_region="GB") as client:
        d = client.check_callback(line="reg1", to="020 7946 0000", text=TEXT)
    assert isinstance(d, b.Destination)
    assert d.number == "+442079460000"
    assert d.masked_number == b.mask_number("+442079460000") and d.masked_number.endswith("00")
    assert (d.region, d.number_type) == ("GB", "fixed_line")
    assert "2079460000" not in repr(d) and d.masked_number in repr(d)
    with pytest.raises(AttributeError):
        d.number = "+1"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(d)) == d


def test_costly_destinations_are_refused_by_default_and_can_be_allowed() -> None:
    with b.Client.from_webhook(WEBHOOK) as client:
        check = lambda to: lambda: client.check_callback(line="reg1", to=to, text=TEXT)  # noqa: E731
        assert _code(check(PREMIUM_RATE)) == "premium_rate"
        assert _code(check(SATELLITE)) == "international_network"
        assert _code(check(JAMAICA)) == "high_risk_region"
        with pytest.raises(b.DestinationBlockedError) as info:
            client.start_callback(line="reg1", to=PREMIUM_RATE, text=TEXT)
        assert info.value.violations[0].code == "premium_rate"
    allowed = dict(block_costly_numbers=False, allowed_prefixes=["+881", "+1876", "+44"])
    with b.Client.from_webhook(WEBHOOK, **allowed) as client:  # type: ignore[arg-type]
        assert client.check_callback(line="reg1", to=PREMIUM_RATE, text=TEXT).number_type == "premium_rate"
        assert client.check_callback(line="reg1", to=SATELLITE, text=TEXT).region == "001"
        assert client.check_callback(line="reg1", to=JAMAICA, text=TEXT).region == "JM"


def test_check_validates_like_start(portal: FakePortal) -> None:
    with b.Client.from_webhook(portal.webhook_url) as client:
        for call in (client.check_callback, client.start_callback):
            with pytest.raises(b.InvalidRequestError) as info:
                call(line="", to="call me maybe", text=TEXT, voice="klingon")
            assert {v.field for v in info.value.violations} == {"FROM_LINE", "TO_NUMBER", "VOICE"}
            with pytest.raises(TypeError):
                call(line="reg1", to=12015550123, text=TEXT)
    client.close()
    with pytest.raises(RuntimeError):
        client.check_callback(line="reg1", to=fresh_number(), text=TEXT)
    assert portal.requests() == []


def test_check_sends_and_reserves_nothing(portal: FakePortal) -> None:
    number = fresh_number()
    with b.Client.from_webhook(portal.webhook_url) as client:  # default cooldown: 60 s
        first = client.check_callback(line="reg1", to=number, text=TEXT)
        again = client.check_callback(line="reg1", to=number, text=TEXT)
        assert first == again and first.number == number
        assert portal.requests() == []
        client.start_callback(line="reg1", to=number, text=TEXT)
        assert _code(lambda: client.check_callback(line="reg1", to=number, text=TEXT)) == "cooldown"
        assert _code(lambda: client.start_callback(line="reg1", to=number, text=TEXT)) == "cooldown"
    assert len(portal.ledger()) == 1


def test_an_idempotency_key_is_bound_to_its_request(portal: FakePortal, client: b.Client) -> None:
    number, other = fresh_number(), fresh_number()
    started = client.start_callback(line="reg1", to=number, text=TEXT, idempotency_key="form-7")
    # The same request again: the check agrees with the start, which replays the answer.
    assert client.check_callback(line="reg1", to=number, text=TEXT, idempotency_key="form-7").number == number
    again = client.start_callback(line="reg1", to=number, text=TEXT, idempotency_key="form-7")
    assert again.deduplicated and again.call_id == started.call_id
    for call in (client.check_callback, client.start_callback):
        with pytest.raises(b.InvalidRequestError) as info:
            call(line="reg1", to=other, text=TEXT, idempotency_key="form-7")
        assert [(v.field, v.code) for v in info.value.violations] == [("idempotency_key", "reused")]
    assert len(portal.ledger()) == 1


def test_the_hourly_cap(portal: FakePortal) -> None:
    number = fresh_number()
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, number_hourly_cap=2) as client:
        for _ in range(2):
            client.start_callback(line="reg1", to=number, text=TEXT)
        assert _code(lambda: client.check_callback(line="reg1", to=number, text=TEXT)) == "hourly_cap"
        assert _code(lambda: client.start_callback(line="reg1", to=number, text=TEXT)) == "hourly_cap"
        client.start_callback(line="reg1", to=fresh_number(), text=TEXT)  # another number is fine
    assert len(portal.ledger()) == 3
    with b.Client.from_webhook(portal.webhook_url, number_cooldown=0, number_hourly_cap=0) as unlimited:
        for _ in range(7):
            unlimited.start_callback(line="reg1", to=number, text=TEXT)


def test_async_check_runs_in_the_executor(portal: FakePortal) -> None:
    used: List[str] = []

    class Recording(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            used.append(getattr(fn, "func", fn).__name__)
            return super().submit(fn, *args, **kwargs)

    async def main() -> b.Destination:
        with Recording(2) as pool:
            async with b.AsyncClient.from_webhook(
                portal.webhook_url, executor=pool, number_hourly_cap=3
            ) as client:
                with pytest.raises(b.DestinationBlockedError):
                    await client.check_callback(line="reg1", to=PREMIUM_RATE, text=TEXT)
                return await client.check_callback(line="reg1", to=fresh_number(), text=TEXT)

    d = asyncio.run(main())
    assert d.number_type == "fixed_line_or_mobile"
    assert used.count("check_callback") == 2
    assert portal.requests() == []


# ----- the options -----


def test_bad_policy_values_are_refused_together() -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(
            WEBHOOK,
            allowed_regions=["XX"],
            blocked_prefixes=["44"],
            allowed_number_types=["landline"],  # type: ignore[list-item]
        )
    assert [(v.field, v.code) for v in info.value.violations] == [
        ("allowed_regions", "unknown_region"),
        ("blocked_prefixes", "invalid_prefix"),
        ("allowed_number_types", "unknown_number_type"),
    ]


@pytest.mark.parametrize(
    "option,value,code",
    [
        ("blocked_regions", ["GB", "ZZ"], "unknown_region"),
        ("high_risk_regions", ["QQ"], "unknown_region"),
        ("allowed_prefixes", ["+"], "invalid_prefix"),
        ("allowed_prefixes", ["+1234567890123456"], "invalid_prefix"),
        ("blocked_prefixes", ["+44x"], "invalid_prefix"),
        ("number_cooldown", float("inf"), "out_of_range"),
    ],
)
def test_bad_policy_values_are_refused_by_the_core(option: str, value: object, code: str) -> None:
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(WEBHOOK, **{option: value})
    assert [(v.field, v.code) for v in info.value.violations] == [(option, code)]


@pytest.mark.parametrize(
    "option,value",
    [
        ("number_hourly_cap", True),
        ("number_hourly_cap", 2.0),
        ("number_hourly_cap", "5"),
        ("blocked_regions", "GB"),
        ("allowed_prefixes", "+44"),
        ("blocked_prefixes", [44]),
        ("allowed_number_types", "mobile"),
        ("high_risk_regions", {"JM": 1}),
    ],
)
def test_wrong_policy_option_types_raise_type_error(option: str, value: object) -> None:
    with pytest.raises(TypeError):
        b.Client.from_webhook(WEBHOOK, **{option: value})


@pytest.mark.parametrize("value", [-1, 2**32, 2**100, -(2**100)])
def test_an_hourly_cap_outside_its_range_is_refused_by_the_core(value: int) -> None:
    # The binding passes the number on; the core checks it like every option value.
    with pytest.raises(b.InvalidRequestError) as info:
        b.Client.from_webhook(WEBHOOK, number_hourly_cap=value)
    assert [(v.field, v.code) for v in info.value.violations] == [("number_hourly_cap", "invalid")]


@pytest.mark.parametrize("value", [0, 4294967295])
def test_an_hourly_cap_at_the_ends_of_its_range_is_accepted(value: int) -> None:
    b.Client.from_webhook(WEBHOOK, number_hourly_cap=value).close()


def test_the_async_options_type_lists_every_keyword() -> None:
    # After the credentials (and from_oauth's on_tokens) come the options, in the same order.
    for ctor in (b.Client.from_webhook, b.Client.from_oauth):
        params = inspect.signature(ctor).parameters
        names = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
        assert names[names.index("connect_timeout"):] == list(_ClientOptions.__annotations__), ctor

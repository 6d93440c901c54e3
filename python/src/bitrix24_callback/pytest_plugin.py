"""The pytest fixture ``fake_portal``: a :class:`bitrix24_callback.testing.FakePortal` per test.

Registered through the ``pytest11`` entry point, so installing the package is enough::

    from bitrix24_callback import Client

    def test_calls_back(fake_portal):
        with Client.from_webhook(fake_portal.webhook_url) as client:
            client.start_callback(line="reg1", to="+12025550123", text="Hi")
        assert len(fake_portal.ledger()) == 1

    @pytest.mark.fake_portal(tls=True, stage_ms=20)
    def test_over_https(fake_portal): ...

The marker's keywords are :class:`~bitrix24_callback.testing.FakePortal`'s options. Only
pytest imports this module (``-p no:bitrix24_callback`` turns it off).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from .testing import FakePortal

__all__ = ["fake_portal"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_portal(**options): options of the FakePortal the fake_portal fixture starts "
        "(tls, burst, drain_per_second, stage_ms, ...)",
    )


@pytest.fixture
def fake_portal(request: pytest.FixtureRequest) -> Iterator[FakePortal]:
    """A fresh fake Bitrix24 portal in this process, stopped after the test."""
    from .testing import FakePortal

    marker = request.node.get_closest_marker("fake_portal")
    options = dict(marker.kwargs) if marker is not None else {}
    with FakePortal(**options) as portal:
        yield portal

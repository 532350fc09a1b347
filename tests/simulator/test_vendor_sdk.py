"""The vendor's own SDK (``engagelab-otp``) works against the simulator unchanged."""

from __future__ import annotations

import pytest
from engagelab_otp import EngagelabError, OTPClient

from django_engagelab_otp.simulator import Simulator
from django_engagelab_otp.simulator.magic import by_name
from tests.support.constants import PHONE


@pytest.fixture
def sdk():
    with Simulator() as sim:
        client = OTPClient("demo-key", "demo-secret", timeout=5)
        client.BASE_URL = sim.url.rstrip("/")
        yield sim, client


def test_sdk_sends_and_verifies(sdk):
    sim, client = sdk
    sent = client.send(PHONE, "demo-otp", params={"name": "Bob"}, language="en")
    assert sent["send_channel"] == "sms" and sent["message_id"].isdigit()
    code = sim.platform.last_code(PHONE)
    assert client.verify(sent["message_id"], "0" * 6 if code != "0" * 6 else "1" * 6)["verified"] is False
    assert client.verify(sent["message_id"], code) == {
        "message_id": sent["message_id"],
        "verify_code": code,
        "verified": True,
    }
    with pytest.raises(EngagelabError) as info:
        client.verify(sent["message_id"], code)
    assert (info.value.code, info.value.http_status) == (3003, 400)


def test_sdk_sends_custom_messages(sdk):
    sim, client = sdk
    client.send_custom([PHONE, "bob@example.com"], "demo-notice", params={"order": "123"})
    assert sim.platform.messages[-1].content == "Simulator: your order 123 has shipped."
    client.send_custom(PHONE, "demo-code", params={"code": "654321"})
    assert sim.platform.last_code(PHONE) == "654321"


def test_sdk_sees_the_platforms_errors(sdk):
    sim, client = sdk
    with pytest.raises(EngagelabError) as info:
        client.send(by_name("error-5016").phone, "demo-otp")
    assert (info.value.code, info.value.http_status, info.value.retryable) == (5016, 400, True)
    with pytest.raises(EngagelabError) as info:
        client.send(PHONE, "no-such-template")
    assert info.value.code == 4001
    wrong = OTPClient("demo-key", "wrong", timeout=5)
    wrong.BASE_URL = client.BASE_URL
    with pytest.raises(EngagelabError) as info:
        wrong.send(PHONE, "demo-otp")
    assert (info.value.code, info.value.http_status) == (2001, 401)

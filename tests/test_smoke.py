import pytest

from django_engagelab_otp import send_otp, verify_otp
from django_engagelab_otp.exceptions import RecipientError
from django_engagelab_otp.models import MessageLog

from .conftest import API


@pytest.mark.django_db
def test_send_and_verify(api):
    api.post(API + "messages", json={"message_id": "m1", "send_channel": "sms"})
    api.post(API + "verifications", json={"message_id": "m1", "verify_code": "123456", "verified": True})
    log = send_otp("+8618701235678", params={"name": "Bob"})
    assert (log.status, log.message_id, log.send_channel) == ("accepted", "m1", "sms")
    assert verify_otp("m1", "123456") is True
    log.refresh_from_db()
    assert log.verify_attempts == 1 and log.verified_at


@pytest.mark.django_db
def test_recipient_error_settles_row(api):
    api.post(API + "messages", status=400, json={"code": 5013, "message": "blocked"})
    with pytest.raises(RecipientError) as info:
        send_otp("+8618701235678")
    assert info.value.log.status == "failed"
    assert MessageLog.objects.get().error_code == 5013
    assert "to" in info.value.as_validation_error().message_dict

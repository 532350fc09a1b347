import pytest
import responses as responses_lib

API = "https://otp.api.engagelab.test/v1/"


@pytest.fixture
def api():
    """A `responses` mock of the EngageLab API; any unmatched request fails the test."""
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock

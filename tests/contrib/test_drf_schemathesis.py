"""schemathesis against the OTP API's own OpenAPI schema: no 500, no answer outside the schema.

The in-memory platform answers, and the app's limits stay on. Besides what
schemathesis generates from the schema, a hook draws ``to`` now and then from
recipients that mean something (an ordinary number, an address, the
simulator's magic recipients for 5013, 3004, 4001 and an outage), with a
request id signed for it, so that the refusals' answers (400, 429 with
Retry-After, 503) are checked against the schema too.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from django_engagelab_otp.contrib.drf.request_ids import issue

from .conftest import BLOCKED, FREQUENT, OTHER_PHONE, OUTAGE, PHONE, TEMPLATE_GONE

# Loaded when the module is (pytest-django has set Django up by then): the
# lazy from_fixture() loader of schemathesis 4.32 fails on pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_tests_connection():
    """Requests go through Django's WSGI handler, which closes the database connection after each one.

    Django's own test client stops that for its requests (the connection
    holds the test's transaction); the same here.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


RECIPIENTS = [PHONE, OTHER_PHONE, "ada@example.com", BLOCKED, FREQUENT, OUTAGE, TEMPLATE_GONE]


# Every few positive cases, one of them in turn (a plain cycle: map_case cannot draw).
_TURNS = itertools.cycle([None, *RECIPIENTS])


@schema.hook("map_case")
def recipients_that_mean_something(context, case):
    body = case.body
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative or not isinstance(body, dict) or not isinstance(body.get("to"), str):
        return case  # schema-violating cases stay as generated: they must be refused
    to = next(_TURNS)
    if to is not None:
        case.body = {**body, "to": to}
        if "request_id" in body:
            case.body["request_id"] = issue("7533000000000000001", to)
    return case


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_otp_api_answers_within_its_schema(case, engagelab_outbox):
    # Every check but two. "Schema-valid data is accepted": a string the schema
    # allows is not yet a reachable phone number, nor a random request id an
    # issued one; refusing those is the point. "Not a server error": an outage
    # is answered 503 on purpose (documented; status_code_conformance checks
    # that), so any other 5xx is failed here instead.
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance, not_a_server_error])
    assert response.status_code < 500 or response.status_code == 503


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("to", "status"),
    [(PHONE, 429), (BLOCKED, 400), (FREQUENT, 429), (OUTAGE, 503), (TEMPLATE_GONE, 503), ("+19005550100", 400)],
)
def test_every_refusal_answers_within_the_schema(to, status, engagelab_outbox):
    # What the fuzzing may or may not meet, met on purpose: each refusal's answer against the schema.
    from werkzeug.test import Client

    client = Client(get_wsgi_application())
    if to == PHONE:
        assert client.post("/api/otp/send/", json={"to": to}).status_code == 200  # then the cooldown
    refused = client.post("/api/otp/send/", json={"to": to})
    assert refused.status_code == status
    schema["/api/otp/send/"]["POST"].validate_response(refused)


@pytest.mark.django_db
@pytest.mark.parametrize("base", ["/api/otp/", "/api/otp-token/"])
def test_a_whole_sign_in_answers_within_the_schema(base, engagelab_outbox):
    # The fuzzing never guesses a right code: the successful answers are checked here.
    from werkzeug.test import Client

    client = Client(get_wsgi_application())
    sent = client.post(f"{base}send/", json={"to": PHONE})
    assert sent.status_code == 200
    schema[f"{base}send/"]["POST"].validate_response(sent)
    body = {"to": PHONE, "request_id": sent.json["request_id"], "code": engagelab_outbox[-1].code}
    verified = client.post(f"{base}verify/", json=body)
    assert verified.status_code == 200 and verified.json["verified"] is True
    schema[f"{base}verify/"]["POST"].validate_response(verified)

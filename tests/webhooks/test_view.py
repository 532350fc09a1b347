"""The callback view as the platform (and anyone else) sees it: methods, probes, bodies, fuzzing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from django_engagelab_otp.models import MessageEvent, MessageLog
from tests.settings import MIDDLEWARE
from tests.support.settings import engagelab
from tests.support.webhooks import (
    URL,
    make_log,
    notification_row,
    post,
    signed_settings,
    status_row,
    system_row,
    uplink_row,
)

pytestmark = [pytest.mark.urls("tests.support.webhooks"), pytest.mark.django_db]


def test_url_is_named_in_the_app_namespace():
    assert reverse("django_engagelab_otp:callback") == URL


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_post_and_head(client, method):
    response = client.generic(method, URL)
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"POST", "HEAD"}


def test_head_probe(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.head(URL).status_code == 200


@pytest.mark.parametrize("payload", [b"", b"{}", b" { } \n", b"\n"])
def test_configuration_probe_answers_without_the_database(client, django_assert_num_queries, payload):
    with django_assert_num_queries(0):
        response = post(client, payload)
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_probe_needs_no_signature_even_when_signatures_are_required(client, django_assert_num_queries):
    with signed_settings(), django_assert_num_queries(0):
        assert post(client, b"{}").status_code == 200
        assert post(client, [notification_row()]).status_code == 401


@pytest.mark.parametrize("encoding", ["chunked", "gzip, chunked", "Chunked"])
def test_a_chunked_body_the_server_did_not_pass_on_is_no_probe(client, django_assert_num_queries, encoding):
    # A WSGI server hands Django no body without Content-Length: the POST looks empty, and an empty
    # POST is the console's probe. It is not one: the sender must send the length.
    with signed_settings(), django_assert_num_queries(0):
        response = client.generic("POST", URL, b"", content_type="application/json", HTTP_TRANSFER_ENCODING=encoding)
    assert response.status_code == 411
    assert response.json()["ok"] is False


def test_csrf_exempt():
    make_log("m-csrf")
    response = post(Client(enforce_csrf_checks=True), [status_row("m-csrf", "delivered")])
    assert response.status_code == 200
    assert MessageLog.objects.get().status == "delivered"


def test_no_login_needed_under_login_required_middleware(client):
    make_log("m-login")
    middleware = [*MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware, LOGIN_URL="/login/"):
        assert client.head(URL).status_code == 200
        assert post(client, b"{}").status_code == 200
        assert post(client, [status_row("m-login", "sent")]).status_code == 200
    assert MessageLog.objects.get().status == "sent"


def test_body_over_the_limit_is_refused_unread(client):
    rows = [notification_row(itime=1_700_000_000 + i) for i in range(20)]
    with engagelab(WEBHOOK_MAX_BODY=500):
        response = post(client, rows)
    assert response.status_code == 400
    assert MessageEvent.objects.count() == 0


@pytest.mark.parametrize("value", [2.5, -1, 0, True, None, "x"])
def test_a_wrong_limit_setting_falls_back_to_its_default_instead_of_failing(client, caplog, value):
    # manage.py check reports these (E102); a site deployed without running it still answers.
    with signed_settings(WEBHOOK_MAX_BODY=value, WEBHOOK_TOLERANCE=value):
        response = post(client, [notification_row()], signed=True)
    assert response.status_code == 200
    assert MessageEvent.objects.count() == 1
    if value is not None:  # None means "the default" for every setting
        assert "ENGAGELAB_OTP['WEBHOOK_MAX_BODY'] must be" in caplog.text
        assert "Using 5242880 instead" in caplog.text
        assert "ENGAGELAB_OTP['WEBHOOK_TOLERANCE'] must be" in caplog.text


def test_limit_is_ours_not_djangos_upload_limit(client):
    rows = [notification_row(itime=1_700_000_000 + i) for i in range(50)]
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = post(client, rows)
    assert response.status_code == 200
    assert MessageEvent.objects.count() == 50


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe\x00garbage",
        '{"rows": [], "x": "\\u0000"}'.encode("utf-16"),  # JSON, but not UTF-8
        b"[]",
        b"[1, 2]",
        b'"rows"',
        b"42",
        b"null",
        b'{"total": 1}',
        b'{"rows": "x"}',
        b'{"rows": {"a": 1}}',
        b'{"rows": [], "total": NaN}',
        b'{"rows": [{"itime": Infinity}]}',
        b"[" * 100_000,
        b'{"rows": [' + b"1" * 5000 + b"]}",
    ],
)
def test_unusable_body_is_400(client, payload):
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert MessageEvent.objects.count() == 0


def test_bad_rows_are_skipped_and_the_rest_processed(client):
    make_log("m-good")
    rows = [
        {"foo": 1},  # unknown kind
        5,
        "row",
        None,
        {"status": {"message_status": "sent"}, "itime": 1_700_000_000},  # no message_id
        {"message_id": "m-good", "status": {"message_status": "sent"}},  # no itime
        {"message_id": "m-good", "itime": 1_700_000_000, "status": {"message_status": 7}},  # no status name
        {"message_id": "x" * 65, "itime": 1_700_000_000, "status": {"message_status": "sent"}},
        {"itime": 1_700_000_000, "notification": {"event": ""}},
        {"itime": "soon", "system_event": {"event": "account_login"}},
        {"itime": 10**400, "system_event": {"event": "account_login"}},
        status_row("m-good", "delivered"),
    ]
    response = post(client, rows)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "rows": 1, "skipped": len(rows) - 1}
    assert MessageLog.objects.get().status == "delivered"
    assert MessageEvent.objects.count() == 1


def test_unknown_status_value_is_kept_but_moves_nothing(client):
    make_log("m-new")
    assert (
        post(client, [status_row("m-new", "sent"), status_row("m-new", "teleported", 1_700_000_009)]).status_code == 200
    )
    assert MessageLog.objects.get().status == "sent"
    assert set(MessageEvent.objects.values_list("event", flat=True)) == {"sent", "teleported"}


def test_strings_no_database_can_store_are_cleaned(client):
    make_log("m-nul")
    row = status_row("m-nul", "delivered_failed", error_code=5018, error_message="bad\x00 \ud800handset")
    row["custom_args"] = {"k\x00": ["\udfff", "\x00"]}
    payload = json.dumps({"rows": [row]}).encode()  # escapes: \u0000, \ud800
    assert post(client, payload).status_code == 200
    event = MessageEvent.objects.get()
    assert event.error_message == "bad ?handset"
    assert event.raw["custom_args"] == {"k": ["?", ""]}
    assert MessageLog.objects.get().error_code == 5018


def test_numbers_out_of_column_range_do_not_break_the_insert(client):
    make_log("m-big")
    row = status_row("m-big", "sent", error_code=2**40, cost="1e30")
    row["status"]["billing"]["cost"] = 10**20
    assert post(client, [row, status_row("m-big", "delivered", 1_700_000_003, cost=1e300)]).status_code == 200
    log = MessageLog.objects.get()
    assert (log.status, log.cost, log.error_code) == ("delivered", None, None)


#: Texts str.isdigit() calls digits but int() refuses ("²", "①") or reads (Arabic-Indic "٣", "1_000").
NOT_ASCII_DIGITS = ["²", "①", "٣", "1700000000²", "1_700_000_000", "١٧٠٠٠٠٠٠٠٠"]


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("field", ["itime", "msg_time"])
def test_a_time_in_other_digits_skips_the_row(client, field, value):
    make_log("m-digits")
    row = status_row("m-digits", "delivered")
    if field == "itime":
        row["itime"] = value
        row["status"]["status_data"]["msg_time"] = value
    else:
        del row["itime"]
        row["status"]["status_data"]["msg_time"] = value
    response = post(client, [row, status_row("m-digits", "sent")])
    assert response.status_code == 200
    assert response.json() == {"ok": True, "rows": 1, "skipped": 1}
    assert MessageLog.objects.get().status == "sent"


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("field", ["error_code", "cost"])
def test_a_number_in_other_digits_is_dropped(client, field, value):
    make_log("m-digits")
    row = status_row("m-digits", "delivered_failed", error_code=5018, cost="0.01")
    if field == "error_code":
        row["status"]["error_code"] = value
    else:
        row["status"]["billing"]["cost"] = value
    response = post(client, [row])
    assert response.status_code == 200 and response.json()["rows"] == 1
    event = MessageEvent.objects.get()
    assert (event.error_code, event.cost) == ((None, Decimal("0.01")) if field == "error_code" else (5018, None))


def test_itime_in_milliseconds_is_understood(client):
    assert post(client, [notification_row(itime=1_700_000_000_123)]).status_code == 200
    assert MessageEvent.objects.get().occurred_at.timestamp() == pytest.approx(1_700_000_000.123)


# ------------------------------------------------------------------ fuzzing

_text = st.text(st.characters(exclude_categories=[]), max_size=12) | st.sampled_from(
    ["", "sms", "whatsapp", "delivered", "sent_fail", "verified", "m-fuzz", "\x00", "\ud800", "USD", *NOT_ASCII_DIGITS]
)
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.integers(0, 2_000_000_000_000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3), max_leaves=12
)


def _rarely(odd, usual) -> st.SearchStrategy:
    """``odd()`` one time in ten, ``usual()`` otherwise."""
    return st.sampled_from([False] * 9 + [True]).flatmap(lambda pick: odd() if pick else usual())


def _mutated(template: dict) -> st.SearchStrategy:
    """A documented row whose values are mostly kept, sometimes anything, and whose keys may go missing."""

    def value(original):
        kept = _mutated(original) if isinstance(original, dict) else st.just(original)
        return _rarely(lambda: _json, lambda: kept)

    whole = st.fixed_dictionaries({key: value(item) for key, item in template.items()})
    if not template:
        return whole
    dropped = _rarely(
        lambda: st.sets(st.sampled_from(sorted(template)), min_size=1, max_size=1), lambda: st.just(set())
    )
    return st.tuples(whole, dropped).map(lambda pair: {k: v for k, v in pair[0].items() if k not in pair[1]})


_statuses = st.sampled_from(["plan", "sent", "delivered", "sent_fail", "delivered_failed", "verified", "odd"])
_status_row = st.builds(
    lambda status, itime, channel, mid: status_row(mid, status, itime, channel=channel, cost="0.01", error_message="e"),
    _statuses,
    st.integers(1_700_000_000, 1_700_000_005),
    st.sampled_from(["sms", "whatsapp", "voice"]),
    st.sampled_from(["m-fuzz", "m-other"]),
).flatmap(_mutated)
_row = st.one_of(
    _json,
    _status_row,
    _status_row,
    _mutated(notification_row(level=3)),
    _mutated(uplink_row("m-fuzz")),
    _mutated(system_row(ip="127.0.0.1")),
)
_body = st.one_of(
    _json,
    st.fixed_dictionaries({"rows": st.lists(_row, max_size=6)}, optional={"total": _json}),
    st.fixed_dictionaries({"rows": st.lists(_row, max_size=6)}, optional={"total": _json}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_body)
def test_arbitrary_json_never_fails_the_server(client, document):
    MessageLog.objects.get_or_create(
        message_id="m-fuzz", defaults={"kind": "otp", "to": "+8618701235678", "template_id": "t", "status": "accepted"}
    )
    response = post(client, json.dumps(document).encode())
    assert response.status_code in (200, 400), response.content
    event(f"stored rows: {min(response.json().get('rows', 0), 2)}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300) | st.binary(max_size=40).map(lambda b: b'{"rows": [' + b + b"]}"))
def test_arbitrary_bytes_never_fail_the_server(client, payload):
    response = post(client, payload)
    assert response.status_code in (200, 400), response.content

"""The message history in the admin: read-only, masked, filterable, searchable, cheap to count."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Q
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_engagelab_otp import privacy, send_code
from django_engagelab_otp.admin import MessageLogAdmin, display, filters
from django_engagelab_otp.admin.paginator import EstimatedCountPaginator
from django_engagelab_otp.admin.search import search_filter
from django_engagelab_otp.models import FAILURE_STATUSES, FINAL_STATUSES, OPEN, MessageEvent, MessageLog
from tests.support.constants import API
from tests.support.settings import engagelab

pytestmark = pytest.mark.django_db

LIST = reverse("admin:django_engagelab_otp_messagelog_changelist")
EVENTS = reverse("admin:django_engagelab_otp_messageevent_changelist")
S = MessageLog.Status
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


def detail(log: MessageLog) -> str:
    return reverse("admin:django_engagelab_otp_messagelog_change", args=[log.pk])


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def make_log(**fields) -> MessageLog:
    values = {
        "kind": MessageLog.Kind.OTP,
        "to": "+8618701235678",
        "template_id": "login-otp",
        "status": S.DELIVERED,
        "send_channel": MessageLog.Channel.SMS,
    }
    values.update(fields)
    return MessageLog.objects.create(**values)


def shown(response) -> list[int]:
    """Primary keys of the rows a change list shows, in order."""
    assert response.status_code == 200, response.status_code
    return [row.pk for row in response.context["cl"].result_list]


@pytest.fixture
def viewer(db) -> Client:
    """A staff user who may only view the history."""
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="django_engagelab_otp", codename__in=["view_messagelog", "view_messageevent"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


# ----------------------------------------------------------------- the list


def test_list_shows_masked_recipient_and_badge(admin_client):
    make_log(to="+8618701235678", status=S.DELIVERED, error_code=None)
    make_log(to="bob@example.com", status=S.FAILED, error_code=5013, send_channel="", kind=MessageLog.Kind.CUSTOM)
    response = admin_client.get(LIST)
    page = response.content.decode()
    assert "+86 187****5678" in page and "b**@example.com" in page
    assert "8618701235678" not in page and "bob@example.com" not in page
    assert 'engagelab-badge engagelab-badge--success">Delivered<' in page
    assert 'engagelab-badge engagelab-badge--failure">Failed<' in page
    assert "5013" in page and "Custom message" in page and "login-otp" in page
    assert "django_engagelab_otp/admin.css" in page


def test_list_shows_the_platform_message_id_compact_and_whole(admin_client):
    """Issue 10, point 11: the key support staff paste from the EngageLab console."""
    make_log(message_id="7533049256454651905", created_at=at(2024, 5, 3))
    make_log(message_id="msg-7f3a9c", created_at=at(2024, 5, 2))  # short ids are shown whole
    make_log(message_id=None, status=S.FAILED, error_code=5013, created_at=at(2024, 5, 1))  # refused: no id
    page = admin_client.get(LIST).content.decode()
    assert 'class="column-platform_id"' in page and "Message id" in page
    long_id = re.search(r'<td class="field-platform_id">(.*?)</td>', page).group(1)
    assert long_id == (
        '<button type="button" class="engagelab-id" title="7533049256454651905" data-copy="7533049256454651905"'
        ' aria-label="Copy message id 7533049256454651905">…54651905</button>'
    )
    assert ">msg-7f3a9c</button>" in page
    cells = re.findall(r'<td class="field-platform_id">(.*?)</td>', page)
    assert len(cells) == 3 and cells[2] == "", "no id, an empty cell (not Django's '-')"
    assert "django_engagelab_otp/copy.js" in page


def test_list_gives_the_table_the_whole_width(admin_client):
    """The app list on the left would leave the nine columns too little room at 1280 px."""
    assert 'id="nav-sidebar"' not in admin_client.get(LIST).content.decode()
    assert 'id="nav-sidebar"' in admin_client.get(detail(make_log())).content.decode()


def test_list_shortens_long_masks():
    log = make_log(to="someone.longer-name@example.com", recipients=[])
    assert display.masked_recipients(log) == "s" + "*" * 18 + "@example.com"
    assert display.masked_recipients(log, compact=True) == "s****@example.com"
    assert display.masked_recipients(make_log(), compact=True) == "+86 187****5678"


def test_list_counts_other_recipients():
    log = make_log(to="+8618701235678", recipients=["+8618701235678", "+6581234567", "+447911123456"])
    assert display.masked_recipients(log) == "+86 187****5678 (+2)"


def test_every_status_has_a_colour():
    assert set(display.BADGE_GROUPS) == set(S.values)
    assert {display.BADGE_GROUPS[status] for status in FAILURE_STATUSES} == {"failure"}
    assert display.BADGE_GROUPS[S.PENDING] == "waiting" and display.BADGE_GROUPS[S.UNKNOWN] == "unknown"
    assert {display.BADGE_GROUPS[s] for s in (S.ACCEPTED, S.PLAN, S.SENT)} == {"progress"}
    assert {display.BADGE_GROUPS[s] for s in (S.DELIVERED, S.VERIFIED)} == {"success"}
    rules = (Path(display.__file__).parents[1] / "static" / "django_engagelab_otp" / "admin.css").read_text()
    for group in set(display.BADGE_GROUPS.values()):
        assert f".engagelab-badge--{group}" in rules


def test_list_is_newest_first_and_sorts_by_time_only(viewer):
    old = make_log(created_at=at(2024, 1, 1))
    new = make_log(created_at=at(2024, 6, 1))
    assert shown(viewer.get(LIST)) == [new.pk, old.pk]
    assert shown(viewer.get(LIST + "?o=0")) == [old.pk, new.pk]
    assert shown(viewer.get(LIST + "?o=-0")) == [new.pk, old.pk]
    # Other columns do not sort (no index would serve them at a million rows).
    assert shown(viewer.get(LIST + "?o=5")) == [new.pk, old.pk]


# ----------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=failed", {"failed"}),
        ("send_channel__exact=whatsapp", {"whatsapp"}),
        ("kind__exact=custom", {"custom"}),
        ("template=order-shipped", {"custom"}),
        ("final=yes", {"failed", "delivered", "custom"}),
        ("final=no", {"whatsapp", "stuck", "fresh"}),
        ("lost=15", {"whatsapp", "stuck"}),
        ("lost=60", {"stuck"}),
        ("lost=1440", set()),
    ],
)
def test_filters(admin_client, query, expected):
    now = timezone.now()
    rows = {
        "failed": make_log(status=S.FAILED, send_channel=""),
        "delivered": make_log(status=S.DELIVERED),
        "whatsapp": make_log(status=S.SENT, send_channel="whatsapp", created_at=now - dt.timedelta(minutes=30)),
        "custom": make_log(kind="custom", template_id="order-shipped", status=S.VERIFIED),
        "stuck": make_log(status=S.ACCEPTED, created_at=now - dt.timedelta(hours=3)),
        "fresh": make_log(status=S.PENDING, send_channel="", created_at=now),
    }
    names = {log.pk: name for name, log in rows.items()}
    assert {names[pk] for pk in shown(admin_client.get(f"{LIST}?{query}"))} == expected


def test_date_filter(admin_client):
    recent = make_log()
    make_log(created_at=timezone.now() - dt.timedelta(days=40))
    response = admin_client.get(LIST)
    # The sidebar's "Past 7 days" link, as Django's date filter builds it.
    date_filter = next(f for f in response.context["cl"].filter_specs if f.title == "created")
    past_week = next(c for c in date_filter.choices(response.context["cl"]) if c["display"] == "Past 7 days")
    assert shown(admin_client.get(LIST + past_week["query_string"])) == [recent.pk]


def test_filter_sidebar_lists_templates_and_lifecycle_choices(admin_client):
    for template in ("reset-password", "login-otp", "order-shipped", "login-otp"):
        make_log(template_id=template)
    page = admin_client.get(LIST).content.decode()
    for text in ("reset-password", "order-shipped", "final status", "lost messages"):
        assert text in page
    assert "no final status after 15 minutes" in page
    assert "no final status after 1 hour" in page and "no final status after 24 hours" in page


def test_template_choices_walk_the_index():
    assert filters.distinct_values(MessageLog, "template_id", 5) == []
    for template in ("b", "a", "c", "a", "b"):
        make_log(template_id=template)
    assert filters.distinct_values(MessageLog, "template_id", 100) == ["a", "b", "c"]
    assert filters.distinct_values(MessageLog, "template_id", 2) == ["a", "b"]


def test_template_filter_keeps_a_choice_beyond_the_listed_ones(admin_client, monkeypatch):
    monkeypatch.setattr(filters.TemplateFilter, "max_choices", 1)
    make_log(template_id="a")
    wanted = make_log(template_id="z")
    response = admin_client.get(LIST + "?template=z")
    assert shown(response) == [wanted.pk]
    template_filter = next(f for f in response.context["cl"].filter_specs if isinstance(f, filters.TemplateFilter))
    assert template_filter.lookup_choices == [("a", "a"), ("z", "z")]


@pytest.mark.parametrize("value", ["soon", "", "99999999999999999999", "-5", "15.0", "1e3", "١٥", "²"])
def test_lost_filter_rejects_nonsense(admin_client, value):
    response = admin_client.get(LIST, {"lost": value})
    assert response.status_code == 302 and response.url.endswith("?e=1")


@pytest.mark.parametrize(
    "query",
    [
        {"created_at__year": "99999999999999999999"},
        {"created_at__year": "2024", "created_at__month": "99999999999999999999"},
        {"created_at__year": "9999"},  # Django steps a year on: 10000 is no year
        {"created_at__year": "9999", "created_at__month": "12"},
        {"created_at__year": "0"},
        {"created_at__month": "99999999999999999999"},  # without a year, Django filters by the month alone
        {"created_at__day": "-1"},
        {"status__exact": "\x00"},  # PostgreSQL refuses NUL in any text
        {"template": "\x00"},
        {"q": "a\x00b"},
    ],
)
def test_nonsense_in_the_query_string_goes_back_to_the_list(admin_client, query):
    make_log()
    response = admin_client.get(LIST, query)
    assert response.status_code == 302 and response.url.endswith("?e=1")


@pytest.mark.parametrize(
    ("query", "years"),
    [({"created_at__month": "5"}, ["2024", "2025"]), ({"created_at__month": "6"}, []), ({"created_at__day": "2"}, [])],
)
def test_a_month_or_day_without_its_year_offers_the_years(admin_client, query, years):
    # Django filters by the month (or day) alone; the drill-down offers the years that have one.
    make_log(created_at=at(2024, 5, 1))
    make_log(created_at=at(2025, 5, 1))
    response = admin_client.get(LIST, query)
    assert response.status_code == 200
    assert [choice["title"] for choice in response.context["cl"].date_drilldown["choices"]] == years


def test_partial_index_condition_is_the_filters_condition():
    """PostgreSQL uses the partial index only when the query repeats its predicate."""
    index = next(index for index in MessageLog._meta.indexes if index.name == "engagelab_log_open")
    assert index.condition == OPEN == ~Q(status__in=sorted(FINAL_STATUSES))


# ----------------------------------------------------------------- search


@pytest.mark.parametrize(
    "term",
    ["+8618701235678", "+86 187 0123 5678", "0086 187-0123-5678", "8618701235678", "(+86) 187.0123.5678"],
)
def test_search_by_phone_in_any_format(viewer, term):
    wanted = make_log(to="+8618701235678")
    make_log(to="+8618701235679")
    make_log(to="+6581234567")
    assert shown(viewer.get(LIST, {"q": term})) == [wanted.pk]


def test_search_by_phone_prefix(viewer):
    first = make_log(to="+8618701235678", created_at=at(2024, 1, 1))
    second = make_log(to="+8618799990000", created_at=at(2024, 1, 2))
    make_log(to="+8613901235678")
    make_log(to="+6581234567")
    assert shown(viewer.get(LIST, {"q": "+86 187"})) == [second.pk, first.pk]


@override_settings(
    ENGAGELAB_OTP={"DEV_KEY": "k", "DEV_SECRET": "s", "DEFAULT_REGION": "CN", "API_URL": "https://x.test/v1/"}
)
def test_search_reads_national_numbers_in_the_default_region(viewer):
    wanted = make_log(to="+8618701235678")
    assert shown(viewer.get(LIST, {"q": "187 0123 5678"})) == [wanted.pk]


@override_settings(
    ENGAGELAB_OTP={"DEV_KEY": "k", "DEV_SECRET": "s", "HASH_RECIPIENTS": True, "API_URL": "https://x.test/v1/"}
)
def test_search_finds_hashed_recipients_exactly(viewer):
    wanted = make_log(to=privacy.hash_recipient("+8618701235678"))
    make_log(to=privacy.hash_recipient("+8618701235679"))
    response = viewer.get(LIST, {"q": "+86 187 0123 5678"})
    assert shown(response) == [wanted.pk]
    assert wanted.to[:13] in response.content.decode() and wanted.to not in response.content.decode()
    # A keyed hash has no prefix to search by.
    assert shown(viewer.get(LIST, {"q": "+86 187"})) == []


def test_search_by_email(viewer):
    wanted = make_log(to="Bob@example.com", send_channel="email")
    other = make_log(to="bobby@example.org", send_channel="email")
    assert shown(viewer.get(LIST, {"q": "Bob@Example.COM"})) == [wanted.pk]
    assert shown(viewer.get(LIST, {"q": "bobby@EXAMPLE"})) == [other.pk]
    assert shown(viewer.get(LIST, {"q": "bobby"})) == [other.pk]


@pytest.mark.parametrize("term", ["bob@Bücher.example", '"bob"@XN--BCHER-KVA.example', "bob@xn--bcher-kva.example"])
def test_search_by_email_reads_it_in_its_canonical_form(viewer, term):
    wanted = make_log(to="bob@xn--bcher-kva.example", send_channel="email")
    make_log(to="bob@example.com", send_channel="email")
    assert shown(viewer.get(LIST, {"q": term})) == [wanted.pk]
    with engagelab(HASH_RECIPIENTS=True):
        hashed = make_log(to=privacy.hash_recipient("bob@xn--bcher-kva.example"), send_channel="email")
        assert shown(viewer.get(LIST, {"q": term})) == [hashed.pk]


def test_search_by_exact_message_id(viewer):
    wanted = make_log(message_id="1725407449772531712")
    make_log(message_id="1725407449772531713")
    assert shown(viewer.get(LIST, {"q": " 1725407449772531712 "})) == [wanted.pk]
    # Not a substring search: that would read every row.
    assert shown(viewer.get(LIST, {"q": "17254074497725317"})) == []


def test_search_that_can_match_nothing(viewer):
    make_log()
    assert shown(viewer.get(LIST, {"q": "not a number!"})) == []


def lookups(condition) -> dict[str, str]:
    found = {}
    for child in condition.children:
        found.update(lookups(child) if hasattr(child, "children") else {child[0]: child[1]})
    return found


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("+86 187", {"to__startswith": "+86187"}),
        ("+44 (0)20 7946 0958", {"to": "+442079460958"}),
        ("8618701235678", {"message_id": "8618701235678", "to": "+8618701235678"}),
        ("bob@example.com", {"to": "bob@example.com"}),
        ("1725407449772531712", {"message_id": "1725407449772531712"}),
        ("alice", {"message_id": "alice", "to__startswith": "alice"}),
    ],
)
def test_search_only_uses_equality_and_prefix(term, expected):
    """Lookups an index serves; never a substring search."""
    assert lookups(search_filter(term)) == expected


# ----------------------------------------------------------------- date hierarchy


def hierarchy(client: Client, query: str = "") -> tuple[list[str], dict]:
    response = client.get(LIST + query)
    assert response.status_code == 200
    drilldown = response.context["cl"].date_drilldown
    return [choice["title"] for choice in drilldown["choices"]], drilldown


def test_date_hierarchy_drills_down_without_distinct(admin_client):
    make_log(created_at=at(2023, 3, 5, 10))
    make_log(created_at=at(2023, 3, 5, 11))
    make_log(created_at=at(2023, 7, 10))
    make_log(created_at=at(2025, 1, 2))
    with CaptureQueriesContext(connection) as queries:
        titles, _ = hierarchy(admin_client)
    assert titles == ["2023", "2025"]
    assert not any("DISTINCT" in query["sql"].upper() for query in queries.captured_queries)

    titles, drilldown = hierarchy(admin_client, "?created_at__year=2023")
    assert titles == ["March 2023", "July 2023"] and drilldown["field_name"] == "created"
    assert drilldown["back"]["title"] == "All dates"

    titles, drilldown = hierarchy(admin_client, "?created_at__year=2023&created_at__month=3")
    assert titles == ["March 5"]
    assert "created_at__day=5" in drilldown["choices"][0]["link"]

    response = admin_client.get(LIST + "?created_at__year=2023&created_at__month=3&created_at__day=5")
    assert len(shown(response)) == 2
    assert response.context["cl"].date_drilldown["choices"] == [{"title": "March 5"}]
    assert 'href="?created_at__month=3&amp;created_at__year=2023"' in response.content.decode()


def test_date_hierarchy_starts_at_the_month_when_rows_share_it(admin_client):
    make_log(created_at=at(2024, 2, 1))
    make_log(created_at=at(2024, 2, 29))
    titles, drilldown = hierarchy(admin_client)
    assert titles == ["February 1", "February 29"]
    assert drilldown["back"]["title"] == "2024"


def test_date_hierarchy_follows_the_filters(admin_client):
    make_log(created_at=at(2023, 3, 5), status=S.FAILED)
    make_log(created_at=at(2024, 3, 5), status=S.DELIVERED)
    assert hierarchy(admin_client, "?status__exact=failed")[0] == ["March 5"]
    assert hierarchy(admin_client)[0] == ["2023", "2024"]


def test_date_hierarchy_of_an_empty_history(admin_client):
    assert hierarchy(admin_client)[0] == []


# ----------------------------------------------------------------- detail page


def test_detail_page_shows_everything_read_only(viewer):
    log = make_log(
        message_id="1725407449772531712",
        recipients=["+8618701235678", "+6581234567"],
        status=S.DELIVERED_FAILED,
        error_code=5015,
        error_message="Carrier rejected the message <b>now</b>",
        http_status=200,
        params={"name": "Bob", "code": "123456"},
        cost=Decimal("0.003500"),
        currency="USD",
    )
    for event, second, channel in (("plan", 1, "whatsapp"), ("sent", 2, "whatsapp"), ("delivered_fail", 3, "sms")):
        MessageEvent.objects.create(
            log=log,
            message_id=log.message_id,
            event=event,
            occurred_at=at(2024, 5, 1, 12, 0, second),
            channel=channel,
            error_code=5015 if event == "delivered_fail" else None,
            error_message="no route" if event == "delivered_fail" else "",
            cost=Decimal("0.0035") if event == "sent" else None,
            currency="USD" if event == "sent" else "",
        )
    response = viewer.get(detail(log))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Carrier rejected the message &lt;b&gt;now&lt;/b&gt;" in page
    assert "+86 187****5678, +65 8***4567" in page and "8618701235678" not in page and "6581234567" not in page
    assert "0.0035 USD" in page and "1725407449772531712" in page
    assert "&quot;name&quot;: &quot;Bob&quot;" in page and "123456" not in page and "[redacted]" in page
    # The timeline, oldest first, with the platform's spelling mapped to ours.
    assert page.index("Planned") < page.index('engagelab-badge--progress">Sent') < page.index("no route")
    assert 'engagelab-badge--failure">Delivery failed<' in page
    assert 'name="_save"' not in page


def test_nothing_can_be_added_or_changed(admin_client):
    log = make_log()
    assert admin_client.get(reverse("admin:django_engagelab_otp_messagelog_add")).status_code == 403
    assert admin_client.get(reverse("admin:django_engagelab_otp_messageevent_add")).status_code == 403
    response = admin_client.post(detail(log), {"status": "verified", "to": "+6581234567"})
    assert response.status_code == 403
    log.refresh_from_db()
    assert (log.status, log.to) == (S.DELIVERED, "+8618701235678")
    assert "Add message" not in admin_client.get(LIST).content.decode()


# ----------------------------------------------------------------- deletion


def test_superuser_may_delete(admin_client):
    log, other = make_log(), make_log()
    MessageEvent.objects.create(log=log, message_id="m", event="sent", occurred_at=timezone.now())
    assert admin_client.get(reverse("admin:django_engagelab_otp_messagelog_delete", args=[log.pk])).status_code == 200
    assert "delete_selected" in admin_client.get(LIST).content.decode()
    response = admin_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [log.pk, other.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not MessageLog.objects.exists() and not MessageEvent.objects.exists()


def test_viewer_may_not_delete(viewer):
    log = make_log()
    assert viewer.get(reverse("admin:django_engagelab_otp_messagelog_delete", args=[log.pk])).status_code == 403
    page = viewer.get(LIST).content.decode()
    assert "delete_selected" not in page and "action-select" not in page
    viewer.post(LIST, {"action": "delete_selected", "_selected_action": [log.pk], "post": "yes"})
    assert MessageLog.objects.filter(pk=log.pk).exists()


def test_staff_without_permission_sees_nothing(db):
    user = get_user_model().objects.create_user("nobody", "n@example.com", "pw", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.get(LIST).status_code == 403
    assert client.get(detail(make_log())).status_code == 403


# ----------------------------------------------------------------- cost per page


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=delivered",
        "?template=login-otp",
        "?final=no",
        "?lost=60",
        "?q=%2B86+187",
        "?q=1725407449772531712",
        "?created_at__year=2024",
        "?created_at__year=2024&created_at__month=5",
        "?created_at__year=2024&created_at__month=5&created_at__day=1",
        "?status__exact=sent&kind__exact=otp&send_channel__exact=sms&template=login-otp&q=%2B86",
    ],
)
def test_query_count_is_bounded_and_nothing_counts_the_table(viewer, django_assert_max_num_queries, query):
    for day in range(1, 29):
        make_log(created_at=at(2024, 5, day), message_id=f"17254074497725317{day:02d}", status=S.SENT)
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(9):
        assert viewer.get(LIST + query).status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_list_of_many_messages_pages_without_counting_them_all(admin_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 5)
    monkeypatch.setattr(MessageLogAdmin, "list_per_page", 2)
    for _ in range(8):
        make_log(status=S.SENT)
    response = admin_client.get(LIST + "?status__exact=sent")
    paginator = response.context["cl"].paginator
    assert paginator.estimated and paginator.count >= 5
    if connection.vendor != "postgresql":
        assert paginator.count == 5  # counted up to the limit
    assert f"About {paginator.count}: an estimate." in response.content.decode()
    # An exact count when it is small.
    response = admin_client.get(LIST + "?status__exact=delivered")
    assert not response.context["cl"].paginator.estimated and response.context["cl"].result_count == 0
    assert "an estimate" not in response.content.decode()


@pytest.mark.postgres
@on_postgres
def test_unfiltered_count_is_the_planner_estimate_on_postgresql(admin_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 10)
    for _ in range(30):
        make_log()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_engagelab_otp_messagelog")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'django_engagelab_otp_messagelog'")
        reltuples = int(cursor.fetchone()[0])
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LIST)
    paginator = response.context["cl"].paginator
    assert paginator.estimated and paginator.count == reltuples == 30
    # One query asks pg_class; the COUNT inside it runs only for a small table.
    counting = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counting) == 1 and "pg_class" in counting[0]
    assert paginator._table_count(MessageLog.objects.all()) == (None, 30)  # (counted, estimated)
    assert "About 30: an estimate." in response.content.decode()
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 100)
    response = admin_client.get(LIST)
    assert response.context["cl"].result_count == 30 and not response.context["cl"].paginator.estimated


@pytest.mark.postgres
@on_postgres
def test_filtered_count_beyond_the_limit_asks_the_planner_on_postgresql(admin_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_limit", 3)
    for _ in range(40):
        make_log(status=S.SENT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_engagelab_otp_messagelog")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(LIST + "?status__exact=sent")
    paginator = response.context["cl"].paginator
    assert paginator.estimated and paginator.count == 40
    assert any(q["sql"].startswith("EXPLAIN") for q in queries.captured_queries)


@pytest.mark.postgres
@on_postgres
def test_recipient_prefix_search_uses_the_pattern_index_on_postgresql():
    for number in range(200):
        make_log(to=f"+86187{number:08d}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE django_engagelab_otp_messagelog")
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = MessageLog.objects.filter(search_filter("+86 187 0000 01")).query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "engagelab_log_to_prefix" in plan


# ----------------------------------------------------------------- secrets


def test_no_code_or_secret_on_any_admin_page(admin_client, api):
    api.post(API + "codes", json={"message_id": "1725407449772531712", "send_channel": "sms"})
    log = send_code("+8618701235678", "482910", params={"name": "Bob", "code": "482910"})
    MessageEvent.objects.create(
        log=log,
        message_id=log.message_id,
        event="sent",
        occurred_at=timezone.now(),
        raw={"to": "+8618701235678", "custom_args": {"code": "482910", "verify_code": "482910"}},
    )
    event = MessageEvent.objects.get()
    pages = [
        LIST,
        LIST + "?q=%2B86+187",
        detail(log),
        EVENTS,
        reverse("admin:django_engagelab_otp_messageevent_change", args=[event.pk]),
        reverse("admin:django_engagelab_otp_messagelog_delete", args=[log.pk]),
    ]
    for url in pages:
        page = admin_client.get(url).content.decode()
        assert "482910" not in page, url
        assert "test-secret-do-not-leak" not in page, url
        assert "8618701235678" not in page, url


# ----------------------------------------------------------------- callback events


def test_event_list_filter_search_and_link(viewer):
    log = make_log(message_id="1725407449772531712")
    status = MessageEvent.objects.create(
        log=log, message_id=log.message_id, event="delivered", occurred_at=at(2024, 5, 1), channel="sms"
    )
    unknown = MessageEvent.objects.create(message_id="999", event="sent", occurred_at=at(2024, 5, 2))
    notice = MessageEvent.objects.create(
        kind=MessageEvent.Kind.NOTIFICATION,
        event="insufficient_balance",
        occurred_at=at(2024, 5, 3),
        raw={"notification": {"event": "insufficient_balance", "notification_data": {"balance": "1.20"}}},
    )
    response = viewer.get(EVENTS)
    assert shown(response) == [notice.pk, unknown.pk, status.pk]
    page = response.content.decode()
    assert f'href="{detail(log)}"' in page and 'engagelab-badge--success">Delivered<' in page
    assert "insufficient_balance" in page
    assert shown(viewer.get(EVENTS, {"kind__exact": "notification"})) == [notice.pk]
    assert shown(viewer.get(EVENTS, {"q": "1725407449772531712"})) == [status.pk]
    assert shown(viewer.get(EVENTS, {"q": "not an id!"})) == []
    notice_page = viewer.get(reverse("admin:django_engagelab_otp_messageevent_change", args=[notice.pk]))
    assert "&quot;balance&quot;: &quot;1.20&quot;" in notice_page.content.decode()
    assert 'name="_save"' not in notice_page.content.decode()


def test_event_delete_only_for_superusers(admin_client, viewer):
    event = MessageEvent.objects.create(message_id="1", event="sent", occurred_at=timezone.now())
    url = reverse("admin:django_engagelab_otp_messageevent_delete", args=[event.pk])
    assert viewer.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not MessageEvent.objects.exists()


def test_safe_document_masks_and_redacts_at_any_depth():
    document = {"to": "+8618701235678", "rows": [{"from": "bob@example.com", "OTP": "1", "body": "STOP"}]}
    assert display.safe_document(document) == {
        "to": "+86 187****5678",
        "rows": [{"from": "b**@example.com", "OTP": "[redacted]", "body": "STOP"}],
    }


# ----------------------------------------------------------------- how things read


def test_the_error_column_gives_the_codes_meaning(viewer):
    make_log(status=S.FAILED, error_code=5013, send_channel="")
    make_log(status=S.FAILED, error_code=None, http_status=503, send_channel="")
    page = viewer.get(LIST).content.decode()
    assert "5013 <small>blocked number</small>" in page and 'title="number is on the block list"' in page
    assert "HTTP 503" in page


def test_one_way_of_writing_times_in_the_list_the_page_and_the_timeline(viewer):
    log = make_log(created_at=at(2026, 11, 23, 9, 16, 5), verified_at=at(2026, 11, 23, 9, 17, 1), message_id="m9")
    MessageEvent.objects.create(log=log, message_id="m9", event="sent", occurred_at=at(2026, 11, 23, 9, 16, 7))
    assert "2026-11-23 09:16<" in viewer.get(LIST).content.decode()  # the list leaves out the seconds
    page = viewer.get(detail(log)).content.decode()
    assert "2026-11-23 09:16:05" in page and "2026-11-23 09:17:01" in page and "2026-11-23 09:16:07" in page
    assert "a.m." not in page and "Nov." not in page


def test_a_message_without_callbacks_says_why_instead_of_an_empty_timeline(viewer):
    page = viewer.get(detail(make_log(status=S.FAILED, error_code=5013))).content.decode()
    assert "The platform did not take the message: no callback will come." in page
    assert "engagelab-timeline" not in page
    log = make_log(message_id="m-with-rows")
    MessageEvent.objects.create(log=log, message_id="m-with-rows", event="sent", occurred_at=timezone.now())
    page = viewer.get(detail(log)).content.decode()
    assert "engagelab-timeline" in page and "no callback" not in page


def test_the_list_counts_messages_and_is_titled_history(viewer):
    make_log()
    make_log()
    page = viewer.get(LIST).content.decode()
    assert "2 messages" in page and "2 message history" not in page
    assert "<h1>Message history</h1>" in page


def test_the_events_list_names_channels_as_people_do(viewer):
    MessageEvent.objects.create(message_id="m", event="sent", channel="email", occurred_at=timezone.now())
    page = viewer.get(EVENTS).content.decode()
    assert "E-mail" in page and ">email<" not in page


def test_the_detail_page_asks_once_whether_callbacks_came(viewer, django_assert_max_num_queries):
    log = make_log(message_id="m-once")
    viewer.get(detail(log))  # warm: sessions, permissions
    with CaptureQueriesContext(connection) as queries:
        assert viewer.get(detail(log)).status_code == 200
    asked = [query["sql"] for query in queries.captured_queries if "engagelab_otp_messageevent" in query["sql"]]
    assert len([sql for sql in asked if "LIMIT 1" in sql or "EXISTS" in sql.upper()]) == 1, asked

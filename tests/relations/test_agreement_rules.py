"""Issue 11, defects 2 and 4: one rule for "running", cancelling what has not started, and archiving a
client whose agreements are running — each confirmed on a page of its own that works without JavaScript.

Running means started and not ended (and not cancelled): `ServiceAgreementQuerySet.running` and
`ServiceAgreement.status` say it once; the overview, the Agreements tab, the company → private guard and
archiving all ask them.
"""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from relations import changes, services
from relations.models import Relation, ServiceAgreement, TimelineEvent
from relations.views import listing
from tests.factories import RelationFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db

Event = TimelineEvent.Kind
CONFIRMED = {"confirmed": "1"}  # what the confirm page's form, or the dialog, adds


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def days(n):
    return timezone.localdate() + timedelta(days=n)


def end_url(agreement):
    return reverse("relations-agreement-end", args=[agreement.relation.public_id, agreement.pk])


def tab_url(relation, tab="agreements"):
    return reverse("relations-tab", args=[relation.public_id, tab])


def archive_url(relation):
    return reverse("relations-archive", args=[relation.public_id])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


class _Forms(HTMLParser):
    """The POST forms of a page with the fields a browser would submit (no JavaScript involved)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[dict] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {"attrs": attrs, "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "a":
            self.links.append(attrs)
        elif self._form is not None and tag == "input" and attrs.get("name"):
            self._form["fields"].append((attrs["name"], attrs.get("value", "")))
        elif self._form is not None and tag == "button":
            self._form["buttons"].append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def parse(response) -> _Forms:
    parser = _Forms()
    parser.feed(response.content.decode())
    return parser


def confirm_form(response) -> dict:
    """The one form on a confirm page that does the thing (marked as such for a dialog later)."""
    forms = [f for f in parse(response).forms if "data-confirm-form" in f["attrs"]]
    assert len(forms) == 1, "a confirm page has exactly one confirming form"
    form = forms[0]
    assert form["attrs"]["method"] == "post"
    assert "csrfmiddlewaretoken" in dict(form["fields"])
    return form


def submit(client: Client, form: dict):
    """Submit the form as a browser without JavaScript would: its action, its fields."""
    data: dict[str, list[str]] = {}
    for name, value in form["fields"]:
        data.setdefault(name, []).append(value)
    return client.post(form["attrs"]["action"], data)


def tab(client, relation):
    return client.get(tab_url(relation)).content.decode()


# --- defect 2: ending what has not started cancels it --------------------------------------------


def test_ending_a_future_agreement_cancels_it(staff_client, staff, practice):
    relation = RelationFactory(practice=practice)
    future = ServiceAgreementFactory(relation=relation, service="vat", start_date=days(10))

    response = staff_client.post(end_url(future), CONFIRMED)

    assert response.status_code == 302
    assert texts(response) == ["Agreement cancelled. It never started."]
    future.refresh_from_db()
    # Kept, with its dates as agreed, and never running: not today, not on its start date.
    assert future.end_date is None
    assert future.cancelled_at is not None
    assert future.status() == ServiceAgreement.Status.CANCELLED
    assert future.status(on=days(10)) == ServiceAgreement.Status.CANCELLED
    assert not relation.agreements.running(on=days(10)).exists()
    event = relation.timeline.get()
    assert (event.kind, event.actor, event.agreement) == (Event.AGREEMENT_CANCELLED, staff, future)
    # Shown under Ended, as cancelled, and offers no second end.
    page = tab(staff_client, relation)
    assert page.index("<h3>Ended</h3>") < page.index("VAT returns") < page.index("Cancelled")
    assert end_url(future) not in page
    assert staff_client.post(end_url(future), CONFIRMED).status_code == 302
    assert relation.timeline.count() == 1


def test_a_cancelled_agreement_reads_geannuleerd_in_dutch(staff_client, practice):
    relation = RelationFactory(practice=practice)
    future = ServiceAgreementFactory(relation=relation, start_date=days(3))
    dutch = {"accept-language": "nl"}

    confirm = staff_client.get(end_url(future), headers=dutch).content.decode()
    staff_client.post(end_url(future), CONFIRMED, headers=dutch)
    page = staff_client.get(tab_url(relation), headers=dutch).content.decode()

    assert "Overeenkomst annuleren" in confirm
    assert "Annuleren trekt haar in" in confirm
    assert "Geannuleerd" in page
    assert "Beëindigd" in page


def test_the_confirm_pages_are_dutch(staff_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Nederlands B.V.")
    running = ServiceAgreementFactory(relation=relation, service="payroll", start_date=days(-3))
    ServiceAgreementFactory(relation=relation, service="vat", start_date=days(3))
    dutch = {"accept-language": "nl"}

    end_page = staff_client.get(end_url(running), headers=dutch).text
    archive_page = staff_client.get(archive_url(relation), headers=dutch).text
    bulk_page = staff_client.post(
        "/relations/bulk/", {"action": "archive", "ids": [str(relation.public_id)]}, headers=dutch
    ).text

    assert "De overeenkomst eindigt vandaag" in end_page
    assert "Nederlands B.V. archiveren?" in archive_page
    assert "Deze lopende overeenkomst eindigt vandaag" in archive_page
    assert "Deze overeenkomst is nog niet begonnen en wordt geannuleerd" in archive_page
    assert "Een gearchiveerde relatie verdwijnt" in archive_page
    assert "1 relatie archiveren?" in bulk_page
    assert "Lopende overeenkomsten eindigen vandaag" in bulk_page
    assert "eindigt vandaag" in bulk_page
    assert "annuleert (nog niet begonnen):" in bulk_page
    for page in (end_page, archive_page, bulk_page):
        assert ">Terug</a>" in page


def test_running_means_started_and_not_ended(staff_client, practice):
    """The overview, the Agreements tab and the company → private guard give the same answer."""
    relation = RelationFactory(practice=practice)
    running = [
        ServiceAgreementFactory(relation=relation, service="payroll", start_date=days(-5)),
        ServiceAgreementFactory(relation=relation, service="vat", start_date=days(0)),
        ServiceAgreementFactory(
            relation=relation, service="advisory", start_date=days(-5), end_date=days(1)
        ),
    ]
    planned = ServiceAgreementFactory(relation=relation, service="income_tax", start_date=days(5))
    ended = ServiceAgreementFactory(
        relation=relation, service="annual_accounts", start_date=days(-50), end_date=days(0)
    )
    cancelled = ServiceAgreementFactory(
        relation=relation, service="other", start_date=days(9), cancelled_at=timezone.now()
    )

    assert set(relation.agreements.running()) == set(running)
    assert [a for a in relation.agreements.all() if a.is_running] == [
        a for a in relation.agreements.all() if a in running
    ]
    overview = staff_client.get(relation.get_absolute_url())
    assert set(overview.context["running_agreements"]) == set(running)
    agreements_tab = staff_client.get(tab_url(relation))
    assert set(agreements_tab.context["running_agreements"]) == set(running)
    assert agreements_tab.context["planned_agreements"] == [planned]
    assert set(agreements_tab.context["ended_agreements"]) == {ended, cancelled}
    with pytest.raises(ValidationError) as refused:
        services.convert_to_private(relation=relation, user=None, last_name="Vries")
    for agreement in running:
        assert str(agreement) in str(refused.value)
    for agreement in (planned, ended, cancelled):
        assert str(agreement) not in str(refused.value)


def test_a_not_yet_started_agreement_blocks_nothing(staff_client, staff, practice):
    company = RelationFactory(practice=practice, legal_name="Toekomst B.V.")
    planned = ServiceAgreementFactory(relation=company, service="payroll", start_date=days(30))

    services.convert_to_private(relation=company, user=staff, last_name="Vries")
    company.refresh_from_db()
    assert company.entity == Relation.Entity.PRIVATE

    # Nor does it hold up archiving; it is cancelled with it, so it never starts on an archived client.
    result = services.archive(practice=practice, user=staff, relations=[company])
    assert result.done == [company]
    planned.refresh_from_db()
    assert planned.status() == ServiceAgreement.Status.CANCELLED
    assert planned.status(on=days(30)) == ServiceAgreement.Status.CANCELLED


# --- defect 4: archiving a client whose agreements are running -----------------------------------


def test_archiving_lists_and_ends_running_agreements_on_confirmation(staff_client, staff, practice):
    client_ = RelationFactory(practice=practice, legal_name="Lopend B.V.")
    payroll = ServiceAgreementFactory(relation=client_, service="payroll", start_date=days(-90))
    vat = ServiceAgreementFactory(relation=client_, service="vat", start_date=days(14))
    ended = ServiceAgreementFactory(
        relation=client_, service="advisory", start_date=days(-90), end_date=days(-1)
    )

    # GET: what will happen, and nothing happens yet.
    page = staff_client.get(archive_url(client_))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Payroll" in html
    assert "VAT returns" in html
    assert "Advisory" not in html
    assert html.index("end today") < html.index("Payroll")
    assert html.index("cancelled") < html.index("VAT returns")
    client_.refresh_from_db()
    assert client_.archived_at is None
    assert not TimelineEvent.objects.exists()

    # A POST without the confirmation (the header's button, no JavaScript) is the same page.
    bare = staff_client.post(archive_url(client_))
    assert bare.status_code == 200
    assert "This running agreement will end today" in bare.text
    client_.refresh_from_db()
    assert client_.archived_at is None
    assert payroll.__class__.objects.get(pk=payroll.pk).end_date is None

    # The confirmation: archived, the running agreement ended today, the planned one cancelled.
    done = submit(staff_client, confirm_form(page))
    assert done.status_code == 302
    assert texts(done) == [
        "Lopend B.V. has been archived. Ended: Payroll. Cancelled (not started yet): VAT returns."
    ]
    client_.refresh_from_db()
    payroll.refresh_from_db()
    vat.refresh_from_db()
    ended.refresh_from_db()
    assert client_.archived_at is not None
    assert payroll.end_date == days(0)
    assert vat.status() == ServiceAgreement.Status.CANCELLED
    assert ended.end_date == days(-1)
    assert not client_.agreements.running().exists()
    assert sorted(client_.timeline.values_list("kind", "agreement")) == sorted(
        [
            (Event.ARCHIVED, None),
            (Event.AGREEMENT_ENDED, payroll.pk),
            (Event.AGREEMENT_CANCELLED, vat.pk),
        ]
    )


def test_archiving_without_running_agreements_says_so_and_archives(staff_client, practice):
    contact = RelationFactory(practice=practice, contact=True, legal_name="Los B.V.")

    page = staff_client.get(archive_url(contact))
    assert "No agreements are running" not in page.content.decode()  # contacts have none at all
    done = submit(staff_client, confirm_form(page))

    assert texts(done) == ["Los B.V. has been archived."]
    contact.refresh_from_db()
    assert contact.archived_at is not None


def test_archiving_never_half_applies(staff, practice, monkeypatch):
    client_ = RelationFactory(practice=practice)
    payroll = ServiceAgreementFactory(relation=client_, service="payroll", start_date=days(-9))

    def fail(*args, **kwargs):
        raise RuntimeError("the timeline is down")

    monkeypatch.setattr(changes, "_record_all", fail)
    with pytest.raises(RuntimeError):
        services.archive(practice=practice, user=staff, relations=[client_], end_running=True)

    client_.refresh_from_db()
    payroll.refresh_from_db()
    assert client_.archived_at is None
    assert payroll.end_date is None
    assert not TimelineEvent.objects.exists()


def test_bulk_archive_reports_row_by_row(staff_client, practice):
    plain = RelationFactory(practice=practice, contact=True, legal_name="Gewoon B.V.")
    busy = RelationFactory(practice=practice, legal_name="Druk B.V.")
    ServiceAgreementFactory(relation=busy, service="payroll", start_date=days(-9))
    ServiceAgreementFactory(relation=busy, service="vat", start_date=days(-9))
    ServiceAgreementFactory(relation=busy, service="advisory", start_date=days(9))
    gone = RelationFactory(practice=practice, legal_name="Weg B.V.", archived_at=timezone.now())
    data = {
        "action": "archive",
        "ids": [str(r.public_id) for r in (plain, busy, gone)],
        "next": "/relations/?q=b.v.",
    }

    # The list's Archive button first shows what will happen, row by row, and changes nothing.
    preview = staff_client.post("/relations/bulk/", data)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert Relation.objects.filter(archived_at__isnull=False).get() == gone
    for name in ("Gewoon B.V.", "Druk B.V.", "Weg B.V."):
        assert name in html
    assert "Payroll, VAT returns" in html
    assert "already archived" in html

    done = submit(staff_client, confirm_form(preview))
    assert done["Location"] == "/relations/?q=b.v."
    assert texts(done) == ["2 archived, 1 skipped."]
    rows = {row[0]: row[2] for row in staff_client.session[listing.BULK_RESULT_KEY]["done"]}
    assert rows == {
        "Gewoon B.V.": "Archived",
        "Druk B.V.": (
            "Archived; 2 agreements ended (Payroll, VAT returns); "
            "1 agreement not started yet cancelled (Advisory)"
        ),
    }
    skipped = staff_client.session[listing.BULK_RESULT_KEY]["skipped"]
    assert [row[:2] for row in skipped] == [["Weg B.V.", "already archived"]]
    assert not busy.agreements.running().exists()
    listed = staff_client.get("/relations/?q=b.v.").content.decode()
    assert "Archived; 2 agreements ended (Payroll, VAT returns)" in listed


def test_bulk_archive_refuses_rows_with_running_agreements_it_was_not_confirmed_for(
    staff, practice
):
    busy = RelationFactory(practice=practice, legal_name="Druk B.V.")
    ServiceAgreementFactory(relation=busy, service="payroll", start_date=days(-9))

    result = services.archive(practice=practice, user=staff, relations=[busy])

    assert result.done == []
    assert [(r, str(reason)) for r, reason in result.skipped] == [
        (busy, "1 agreement running (Payroll); archiving ends it only when confirmed")
    ]
    busy.refresh_from_db()
    assert busy.archived_at is None
    assert busy.agreements.running().count() == 1


# --- confirmation without JavaScript -------------------------------------------------------------


def test_confirm_pages_work_without_javascript(staff_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Zonder Script B.V.")
    running = ServiceAgreementFactory(relation=relation, service="payroll", start_date=days(-3))
    future = ServiceAgreementFactory(relation=relation, service="vat", start_date=days(3))

    # The triggers are plain POST forms marked data-confirm (the dialog's question, for
    # static/js/confirm.js); posted as they are, without JavaScript, they land on the confirm page.
    tab_forms = {
        f["attrs"].get("action"): f for f in parse(staff_client.get(tab_url(relation))).forms
    }
    assert (
        tab_forms[end_url(running)]["attrs"]["data-confirm"] == "End the agreement Payroll today?"
    )
    assert "has not started" in tab_forms[end_url(future)]["attrs"]["data-confirm"]
    header = parse(staff_client.get(relation.get_absolute_url())).forms
    archive_form = next(f for f in header if f["attrs"].get("action") == archive_url(relation))
    assert archive_form["attrs"]["data-confirm"] == (
        "Archive Zonder Script B.V.? Ends today: Payroll. Cancelled (not started yet): VAT returns."
    )
    for form in (tab_forms[end_url(running)], archive_form):
        assert "confirmed" not in dict(form["fields"])
        assert submit(staff_client, form).status_code == 200  # the confirm page, nothing done
    running.refresh_from_db()
    assert running.end_date is None
    list_page = staff_client.get("/relations/").content.decode()
    assert 'value="archive" data-confirm="Archive the selected relations?' in list_page

    # Each confirm page is a whole page, says what will happen, offers a way back, and its form
    # posts by itself: no script on the page decides anything.
    end_page = staff_client.get(end_url(running))
    assert "<html" in end_page.content.decode()
    assert "ends today" in end_page.content.decode()
    assert tab_url(relation) in {a.get("href") for a in parse(end_page).links}
    assert "<script>" not in end_page.content.decode()
    submit(staff_client, confirm_form(end_page))
    running.refresh_from_db()
    assert running.end_date == days(0)

    cancel_page = staff_client.get(end_url(future))
    assert "never started" in cancel_page.content.decode()
    submit(staff_client, confirm_form(cancel_page))
    future.refresh_from_db()
    assert future.status() == ServiceAgreement.Status.CANCELLED

    archive_page = staff_client.get(archive_url(relation))
    assert relation.get_absolute_url() in {a.get("href") for a in parse(archive_page).links}
    submit(staff_client, confirm_form(archive_page))
    relation.refresh_from_db()
    assert relation.archived_at is not None


def test_confirm_pages_refuse_read_only_members_and_outsiders(
    readonly_client, outsider_client, practice
):
    relation = RelationFactory(practice=practice)
    agreement = ServiceAgreementFactory(relation=relation, start_date=days(-3))

    assert readonly_client.get(end_url(agreement)).status_code == 403
    assert readonly_client.get(archive_url(relation)).status_code == 403
    assert readonly_client.post(archive_url(relation), CONFIRMED).status_code == 403
    assert readonly_client.post(end_url(agreement), CONFIRMED).status_code == 403
    assert outsider_client.post(archive_url(relation), CONFIRMED).status_code == 404
    assert outsider_client.post(end_url(agreement), CONFIRMED).status_code == 404
    relation.refresh_from_db()
    agreement.refresh_from_db()
    assert (relation.archived_at, agreement.end_date) == (None, None)
    assert outsider_client.get(end_url(agreement)).status_code == 404
    assert outsider_client.get(archive_url(relation)).status_code == 404


def test_ending_on_an_archived_client_is_refused_on_the_confirm_page_too(staff_client, practice):
    archived = RelationFactory(practice=practice, archived_at=timezone.now())
    agreement = ServiceAgreementFactory(relation=archived, start_date=days(-3))

    response = staff_client.get(end_url(agreement))

    assert response.status_code == 302
    assert response["Location"] == tab_url(archived)
    agreement.refresh_from_db()
    assert agreement.end_date is None


def test_an_inline_end_without_the_dialog_goes_to_the_confirm_page(staff_client, practice):
    """The tab's htmx button posted without confirmed=1 (no dialog ran): the confirm page, as a page."""
    agreement = ServiceAgreementFactory(
        relation=RelationFactory(practice=practice), start_date=days(-3)
    )

    response = staff_client.post(end_url(agreement), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == end_url(agreement)
    agreement.refresh_from_db()
    assert agreement.end_date is None
    assert not TimelineEvent.objects.exists()

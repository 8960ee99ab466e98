"""Starting a process and doing its tasks: each rule of issue 16 that the services hold."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relations.models import TeamAssignment, TimelineEvent
from tests.factories import MembershipFactory, RelationFactory, UserFactory
from work import dates, services
from work.models import Process, Task, TemplateStep

pytestmark = pytest.mark.django_db

Q3 = dates.parse_period("quarter", "2026-Q3")


def start(relation, template, user, period=Q3):
    return services.start_process(relation=relation, template=template, period=period, user=user)


def tasks_of(process):
    return list(process.tasks.order_by("position"))


def test_one_holder_gets_the_task_when_it_opens(client_relation, vat_template, owner, staff):
    first, contact, review = tasks_of(start(client_relation, vat_template, owner))
    assert (first.status, first.assignee) == (Task.Status.OPEN, staff)
    # Blocked behind step 1; resolved when it opens.
    assert (review.status, review.assignee) == (Task.Status.BLOCKED, None)
    assert contact.status == Task.Status.BLOCKED


def test_several_holders_make_the_task_claimable_by_any_of_them(
    practice, client_relation, vat_template, owner, staff
):
    carol = UserFactory.create(username="carol")
    MembershipFactory.create(practice=practice, user=carol, role="staff")
    TeamAssignment.objects.create(
        practice=practice, relation=client_relation, user=carol, role="accountant"
    )
    first = tasks_of(start(client_relation, vat_template, owner))[0]
    assert first.assignee is None
    with pytest.raises(ValidationError):
        services.claim(task=first, user=owner)  # not a holder of the role
    assert services.claim(task=first, user=carol).assignee == carol
    with pytest.raises(ValidationError, match="taken meanwhile"):
        services.claim(task=first, user=staff)


def test_no_holder_leaves_the_task_in_the_roles_queue(client_relation, vat_template, owner):
    TeamAssignment.objects.filter(relation=client_relation, role="accountant").delete()
    first = tasks_of(start(client_relation, vat_template, owner))[0]
    assert (first.status, first.assignee, first.role_key) == (Task.Status.OPEN, None, "accountant")


def test_a_client_without_a_running_agreement_of_the_service_gets_no_process(
    practice, vat_template, owner
):
    payroll_only = RelationFactory.create(practice=practice)
    with pytest.raises(ValidationError, match="no running agreement"):
        start(payroll_only, vat_template, owner)
    assert [reason != "" for _t, reason in services.offer(payroll_only)] == [True]
    assert not Process.objects.exists()


def test_a_second_q3_2026_is_refused(client_relation, vat_template, owner):
    start(client_relation, vat_template, owner)
    with pytest.raises(ValidationError, match="already has"):
        start(client_relation, vat_template, owner)
    assert Process.objects.count() == 1
    start(client_relation, vat_template, owner, period=dates.parse_period("quarter", "2026-Q4"))


def test_the_database_itself_refuses_a_second_running_process_for_the_period(
    client_relation, vat_template, owner
):
    process = start(client_relation, vat_template, owner)
    fields = {
        f.attname: getattr(process, f.attname)
        for f in Process._meta.concrete_fields
        if not f.primary_key
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Process.objects.create(**fields)
    Process.objects.filter(pk=process.pk).update(status=Process.Status.CANCELLED)
    Process.objects.create(**fields)  # a cancelled one does not count


def test_editing_the_template_leaves_running_processes_alone(client_relation, vat_template, owner):
    process = start(client_relation, vat_template, owner)
    before = [(t.title, t.due_date) for t in tasks_of(process)]
    step = vat_template.steps.get(position=1)
    step.title = "Iets anders"
    step.days = -20
    step.save()
    TemplateStep.objects.create(
        template=vat_template, position=4, title="Nieuw", role_key="manager"
    )
    services.bump(vat_template)
    process.refresh_from_db()
    assert [(t.title, t.due_date) for t in tasks_of(process)] == before
    assert process.template_version == 1
    assert vat_template.version == 2


def test_due_dates_come_from_the_deadline_rolled_to_working_days(
    client_relation, vat_template, owner
):
    first, contact, review = tasks_of(start(client_relation, vat_template, owner))
    # Q3 2026: 31 October is a Saturday → Monday 2 November; 10 and 5 days before, moved earlier.
    assert review.due_date == date(2026, 11, 2)
    assert contact.due_date == date(2026, 10, 28)
    assert first.due_date == date(2026, 10, 23)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Adak"])
def test_due_dates_are_the_same_in_every_time_zone(
    settings, client_relation, vat_template, owner, zone
):
    from django.utils import timezone

    settings.TIME_ZONE = zone
    with timezone.override(zone):
        planned = services.plan(
            relation=client_relation, template=vat_template, period=Q3, starter=owner
        )
    assert [p.due_date for p in planned] == [
        date(2026, 10, 23),
        date(2026, 10, 28),
        date(2026, 11, 2),
    ]


def test_a_double_completion_has_one_winner(client_relation, vat_template, owner, staff):
    first = tasks_of(start(client_relation, vat_template, owner))[0]
    seen_by_owner = Task.objects.get(pk=first.pk)
    services.complete(task=first, user=staff, version=first.version)
    with pytest.raises(ValidationError, match="already done by"):
        services.complete(task=seen_by_owner, user=owner, version=seen_by_owner.version)
    first.refresh_from_db()
    assert first.done_by == staff
    assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.TASK_DONE).count() == 1


def test_completing_the_blocking_step_opens_the_next_and_resolves_its_role(
    client_relation, vat_template, owner, staff
):
    first, contact, review = tasks_of(start(client_relation, vat_template, owner))
    services.complete(task=first, user=staff, version=first.version)
    contact.refresh_from_db()
    review.refresh_from_db()
    assert contact.status == review.status == Task.Status.OPEN
    assert review.assignee == owner  # the tax advisor, resolved when it opened


def test_a_blocked_task_cannot_be_completed(client_relation, vat_template, owner):
    review = tasks_of(start(client_relation, vat_template, owner))[2]
    with pytest.raises(ValidationError, match="earlier step"):
        services.complete(task=review, user=owner, version=review.version)


def test_the_process_is_done_when_every_task_not_skipped_is_and_the_timeline_says_so(
    client_relation, vat_template, owner, staff
):
    process = start(client_relation, vat_template, owner)
    first, contact, review = tasks_of(process)
    services.complete(task=first, user=staff, version=first.version)
    contact.refresh_from_db()
    services.skip(task=contact, user=staff, version=contact.version, reason="Geen stukken")
    review.refresh_from_db()
    services.complete(task=review, user=owner, version=review.version)
    process.refresh_from_db()
    assert process.status == Process.Status.DONE
    kinds = list(
        TimelineEvent.objects.filter(relation=client_relation)
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == ["process_started", "task_done", "task_skipped", "task_done", "process_done"]
    services.reopen(task=contact, user=owner)
    process.refresh_from_db()
    assert process.status == Process.Status.RUNNING


def test_a_skip_needs_a_reason(client_relation, vat_template, owner):
    first = tasks_of(start(client_relation, vat_template, owner))[0]
    with pytest.raises(ValidationError, match="why"):
        services.skip(task=first, user=owner, version=first.version, reason="  ")


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["complete", "skip", "reopen"]), st.integers(0, 2)), max_size=25
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS)
def test_done_exactly_when_every_task_not_skipped_is_done(
    client_relation, vat_template, owner, actions
):
    with transaction.atomic():
        process = start(client_relation, vat_template, owner)
        for action, index in actions:
            task = tasks_of(process)[index]
            try:
                if action == "complete":
                    services.complete(task=task, user=owner, version=task.version)
                elif action == "skip":
                    services.skip(task=task, user=owner, version=task.version, reason="x")
                else:
                    services.reopen(task=task, user=owner)
            except ValidationError:
                pass  # a refused step changes nothing; the rule must hold all the same
            process.refresh_from_db()
            statuses = [t.status for t in tasks_of(process)]
            done = all(s == Task.Status.DONE for s in statuses if s != Task.Status.SKIPPED)
            assert (process.status == Process.Status.DONE) == done, (actions, statuses)
            # Nothing open behind an unfinished blocking step.
            first = tasks_of(process)[0]
            if first.is_unfinished:
                assert all(t.status != Task.Status.OPEN for t in tasks_of(process)[1:])
        transaction.set_rollback(True)

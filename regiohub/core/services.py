"""Business rules of the core: organisation structure and people.

Each function is one transaction: it checks permission, locks what it changes, appends
history and enqueues its side effects in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from regiohub.core import access, history
from regiohub.core.history import CoreAction
from regiohub.core.models import Department, Membership, Organisation
from regiohub.core.roles import MANAGE_ORGANISATION, Role
from regiohub.core.tasks import enqueue


@transaction.atomic
def create_department(
    organisation: Organisation,
    *,
    name: str,
    email: str = "",
    actor: Any,
    name_fr: str = "",
    name_en: str = "",
) -> Department:
    access.require(actor, MANAGE_ORGANISATION, organisation)
    name = name.strip()
    if Department.objects.filter(organisation=organisation, name__iexact=name).exists():
        raise ValidationError(
            {
                "name": _("%(org)s already has a department called “%(name)s”.")
                % {"org": organisation.display_name, "name": name}
            }
        )
    department = Department.objects.create(
        organisation=organisation,
        name=name,
        name_fr=name_fr.strip(),
        name_en=name_en.strip(),
        email=email,
    )
    history.record(
        department,
        CoreAction.DEPARTMENT_CREATED,
        actor=actor,
        organisation=organisation,
        after=history.snapshot(department, ["name", "name_fr", "name_en", "email", "organisation"]),
    )
    return department


@transaction.atomic
def add_member(
    organisation: Organisation,
    *,
    email: str,
    full_name: str,
    role: Role | str,
    department: Department | None = None,
    actor: Any,
) -> Membership:
    """Give a person a role in ``organisation``; invite them by mail if they are new."""
    access.require(actor, MANAGE_ORGANISATION, organisation)
    if department is not None and department.organisation_id != organisation.pk:
        raise ValidationError({"department": _("This department belongs to another organisation.")})
    User = get_user_model()
    user = User.objects.select_for_update().filter(email__iexact=email.strip()).first()
    invited = user is None
    if user is None:
        user = User.objects.create_user(email=email.strip(), password=None, full_name=full_name)
    if Membership.objects.filter(
        user=user, organisation=organisation, department=department, role=role
    ).exists():
        raise ValidationError(_("%(person)s already has this role here.") % {"person": user})
    membership = Membership.objects.create(
        user=user, organisation=organisation, department=department, role=role
    )
    history.record(
        membership,
        CoreAction.MEMBERSHIP_CREATED,
        actor=actor,
        organisation=organisation,
        after=history.snapshot(membership, ["user", "organisation", "department", "role"]),
    )
    access.forget(user)
    if invited:
        from regiohub.core.tasks_mail import send_invitation

        enqueue(send_invitation, user.pk, organisation.pk)
    return membership


@transaction.atomic
def end_membership(membership: Membership, *, actor: Any, reason: str = "") -> None:
    access.require(actor, MANAGE_ORGANISATION, membership.organisation)
    before = history.snapshot(membership, ["user", "organisation", "department", "role"])
    history.record(
        membership,
        CoreAction.MEMBERSHIP_ENDED,
        actor=actor,
        organisation=membership.organisation,
        before=before,
        reason=reason,
    )
    membership.delete()
    access.forget(membership.user)

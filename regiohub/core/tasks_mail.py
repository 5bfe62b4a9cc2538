"""Mail sent by the core: invitations for new staff accounts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from regiohub.core.mail import headers_for
from regiohub.core.models import Organisation
from regiohub.core.tasks import once, task


@task(queue_name="mail")
def send_invitation(user_id: int, organisation_id: int) -> str:
    """Mail a new person a link to choose their password. Sent once per account."""
    user = get_user_model().objects.get(pk=user_id)
    organisation = Organisation.objects.get(pk=organisation_id)
    key = f"core.invitation:{user_id}"
    with once(key) as first:
        if not first:
            return "already sent"
        link = settings.SITE_URL.rstrip("/") + reverse(
            "core:set-password",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
        with translation.override(user.language):
            context = {"user": user, "organisation": organisation, "link": link}
            EmailMessage(
                subject=_("Your regiohub account for %(org)s") % {"org": organisation},
                body=render_to_string("core/mail/invitation.txt", context),
                to=[user.email],
                headers=headers_for(key),
            ).send()
    return "sent"

"""What the contact point lets people do, and which roles grant it (see ``core.roles``)."""

from django.utils.translation import gettext_lazy as _

from regiohub.core.roles import Capability, Role, grant

TAKE_REPORTS = Capability("take_reports", _("Take reports from citizens"))
HANDLE_REPORTS = Capability("handle_reports", _("Handle reports"))

grant(Role.AGENT, TAKE_REPORTS, HANDLE_REPORTS)
grant(Role.HANDLER, HANDLE_REPORTS)

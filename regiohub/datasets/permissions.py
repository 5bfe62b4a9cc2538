"""What the data platform lets people do, and which roles grant it (see ``core.roles``)."""

from django.utils.translation import gettext_lazy as _

from regiohub.core.roles import Capability, Role, grant

MANAGE_DATA = Capability("manage_data", _("Load and publish datasets"))
VIEW_DATA = Capability("view_data", _("Query internal datasets"), reads=True)

grant(Role.DATA_STEWARD, MANAGE_DATA, VIEW_DATA)
grant(Role.ANALYST, VIEW_DATA)
grant(Role.MANAGER, VIEW_DATA)

"""What the open data portal lets people do, and which roles grant it (see ``core.roles``)."""

from django.utils.translation import gettext_lazy as _

from regiohub.core.roles import Capability, Role, grant

#: Publish and withdraw the open datasets of one's organisation on the portal, describe
#: them for harvesters and approve the reuses people submit.
PUBLISH_OPEN_DATA = Capability("publish_open_data", _("Publish open data on the portal"))

grant(Role.DATA_STEWARD, PUBLISH_OPEN_DATA)

"""What dashboards let people do, and which roles grant it (see ``core.roles``).

Public dashboards need no capability. An internal one is for the staff of the
organisations it names (and of those below them): everyone who works there sees it, and
each chart shows only what its viewer may read through the other modules' doors.
"""

from django.utils.translation import gettext_lazy as _

from regiohub.core.roles import Capability, Role, grant

VIEW_DASHBOARDS = Capability("view_dashboards", _("See the internal dashboards"), reads=True)
#: Create, edit and import dashboards (the admin and ``regiohub import dashboards``).
EDIT_DASHBOARDS = Capability("edit_dashboards", _("Create and edit dashboards"))

for _role in Role:
    grant(_role, VIEW_DASHBOARDS)
grant(Role.DATA_STEWARD, EDIT_DASHBOARDS)
grant(Role.ANALYST, EDIT_DASHBOARDS)

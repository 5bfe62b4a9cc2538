"""What document delivery lets people do, and which roles grant it (see ``core.roles``)."""

from django.utils.translation import gettext_lazy as _

from regiohub.core.roles import Capability, Role, grant

VIEW_LETTERS = Capability("view_letters", _("See sent letters and their proof"), reads=True)
SEND_LETTERS = Capability("send_letters", _("Send letters and resend failed ones"))

grant(Role.HANDLER, VIEW_LETTERS, SEND_LETTERS)
grant(Role.AGENT, VIEW_LETTERS)
grant(Role.MANAGER, VIEW_LETTERS)

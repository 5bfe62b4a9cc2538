"""Business rules of the contact point, one transaction per function.

``filing``   filing a report (routing, reference, follow-up link, due dates, photos)
``handling`` what staff do with it (status, assignment, notes, messages, hand-overs, merge,
             split)
``citizen``  what the reporter does on the follow-up page
"""

from regiohub.meldpunt.links import followup_token, followup_url, token_hash
from regiohub.meldpunt.services.filing import (
    Submitted,
    attach_photos,
    calendar_for,
    locate,
    set_place,
    submit_report,
    update_due_dates,
)
from regiohub.meldpunt.services.handling import (
    add_note,
    assign,
    change_status,
    forward_to_external_body,
    forward_to_municipality,
    merge,
    render_template,
    send_message,
    split,
    templates_for,
)
from regiohub.meldpunt.services.routing import (
    change_category,
    decide_owner,
    reroute,
)

__all__ = [
    "Submitted",
    "add_note",
    "assign",
    "attach_photos",
    "calendar_for",
    "change_category",
    "change_status",
    "decide_owner",
    "followup_token",
    "followup_url",
    "forward_to_external_body",
    "forward_to_municipality",
    "locate",
    "merge",
    "render_template",
    "reroute",
    "send_message",
    "set_place",
    "split",
    "submit_report",
    "templates_for",
    "token_hash",
    "update_due_dates",
]

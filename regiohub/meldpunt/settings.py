"""Settings of the contact point, merged into ``regiohub/settings.py`` (see
``regiohub.conf.module_settings``). Environment names are ``REGIOHUB_MELDPUNT_*``; the
earlier ``MELDPUNT_*`` names are still read, with a warning, until the next release."""

from regiohub.conf import config

MELDPUNT_MAX_PHOTOS = config(
    "REGIOHUB_MELDPUNT_MAX_PHOTOS",
    3,
    help_text="Photos a citizen may add to one report.",
    old_names=("MELDPUNT_MAX_PHOTOS",),
)
MELDPUNT_PHOTO_MAX_MB = config(
    "REGIOHUB_MELDPUNT_PHOTO_MAX_MB",
    10,
    help_text="Largest photo upload accepted, in megabytes.",
    old_names=("MELDPUNT_PHOTO_MAX_MB",),
)
MELDPUNT_PHOTO_MEMORY_MB = config(
    "REGIOHUB_MELDPUNT_PHOTO_MEMORY_MB",
    256,
    help_text="Memory one photo may take while it is decoded; larger photos are refused.",
)
MELDPUNT_REOPEN_DAYS = config(
    "REGIOHUB_MELDPUNT_REOPEN_DAYS",
    14,
    help_text="Days after resolution during which the citizen may ask to reopen a report.",
    old_names=("MELDPUNT_REOPEN_DAYS",),
)
MELDPUNT_FOLLOWUP_DAYS = config(
    "REGIOHUB_MELDPUNT_FOLLOWUP_DAYS",
    90,
    help_text="Days after closure that the citizen's follow-up link keeps working.",
    old_names=("MELDPUNT_FOLLOWUP_DAYS",),
)
MELDPUNT_HANDOFF_LINK_DAYS = config(
    "REGIOHUB_MELDPUNT_HANDOFF_LINK_DAYS",
    30,
    help_text="Days after an external body answered a hand-over (or the municipality took "
    "it back) that the body's link keeps showing it.",
)
MELDPUNT_RETENTION_MONTHS = config(
    "REGIOHUB_MELDPUNT_RETENTION_MONTHS",
    12,
    help_text="Months after closure after which the reporter's contact details are erased.",
    old_names=("MELDPUNT_RETENTION_MONTHS",),
)
MELDPUNT_FORM_RATE = config(
    "REGIOHUB_MELDPUNT_FORM_RATE",
    "20/hour",
    help_text="Reports one client address may send through the public form.",
    old_names=("MELDPUNT_FORM_RATE",),
)
MELDPUNT_FOLLOWUP_RATE = config(
    "REGIOHUB_MELDPUNT_FOLLOWUP_RATE",
    "30/hour",
    help_text="Answers, photos, ratings and reopen requests one client address may send.",
    old_names=("MELDPUNT_FOLLOWUP_RATE",),
)
MELDPUNT_NEARBY_RATE = config(
    "REGIOHUB_MELDPUNT_NEARBY_RATE",
    "300/hour",
    help_text="Look-ups of open reports nearby one client address may make from the form.",
    old_names=("MELDPUNT_NEARBY_RATE",),
)
MELDPUNT_MAP_CACHE_SECONDS = config(
    "REGIOHUB_MELDPUNT_MAP_CACHE_SECONDS",
    60,
    help_text="Seconds each server process keeps an answer of the public map's JSON "
    "(0: never); browsers keep one for at most a minute more.",
)
MELDPUNT_PLACE_RATE = config(
    "REGIOHUB_MELDPUNT_PLACE_RATE",
    "600/hour",
    help_text="Address suggestions, street look-ups and photo positions one client address "
    "may ask from the form.",
)
MELDPUNT_INBOUND_MAIL_SECRET = config(
    "REGIOHUB_MELDPUNT_INBOUND_MAIL_SECRET",
    "",
    help_text="Shared secret of the inbound-mail webhook; empty switches e-mail intake off.",
    old_names=("MELDPUNT_INBOUND_MAIL_SECRET",),
)
MELDPUNT_OPEN311_RATE = config(
    "REGIOHUB_MELDPUNT_OPEN311_RATE",
    "1000/hour",
    help_text="Reports one Open311 API client (API key) may file.",
    old_names=("MELDPUNT_OPEN311_RATE",),
)
MELDPUNT_OPEN311_READ_RATE = config(
    "REGIOHUB_MELDPUNT_OPEN311_READ_RATE",
    "60/minute",
    help_text="Open311 reads (services, requests, one request) one client address may make.",
)
MELDPUNT_CALLBACK_RATE = config(
    "REGIOHUB_MELDPUNT_CALLBACK_RATE",
    "6000/hour",
    help_text="Status callbacks one back-office connector may send.",
    old_names=("MELDPUNT_CALLBACK_RATE",),
)
MELDPUNT_DUPLICATE_RADIUS_M = config(
    "REGIOHUB_MELDPUNT_DUPLICATE_RADIUS_M",
    150,
    help_text="Distance in metres within which reports may be duplicates of each other.",
    old_names=("MELDPUNT_DUPLICATE_RADIUS_M",),
)
MELDPUNT_DUPLICATE_DAYS = config(
    "REGIOHUB_MELDPUNT_DUPLICATE_DAYS",
    30,
    help_text="Days apart within which reports may be duplicates of each other.",
    old_names=("MELDPUNT_DUPLICATE_DAYS",),
)
MELDPUNT_DIGEST_HOUR = config(
    "REGIOHUB_MELDPUNT_DIGEST_HOUR",
    7,
    help_text="Hour (Europe/Brussels) at which departments get their daily due/overdue digest.",
    old_names=("MELDPUNT_DIGEST_HOUR",),
)
MELDPUNT_ROUTING_CHECK_SECONDS = config(
    "REGIOHUB_MELDPUNT_ROUTING_CHECK_SECONDS",
    2.0,
    help_text=(
        "How often a process checks whether routing rules, owners or asset layers, or what "
        "filing reads (organisations, subjects, SLA calendars, connectors), changed "
        "elsewhere (a change in the same process holds at once)."
    ),
)

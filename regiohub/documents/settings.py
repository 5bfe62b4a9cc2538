"""Settings of document delivery, merged into ``regiohub/settings.py`` (see
``regiohub.conf.module_settings``). Environment names are ``REGIOHUB_DOCUMENTS_*``."""

from regiohub.conf import ConfigurationError, config, data_dir

DOCUMENTS_PAPER_DIR = config(
    "REGIOHUB_DOCUMENTS_PAPER_DIR",
    str(data_dir() / "paper"),
    help_text="Folder where the daily paper batches are written before they are handed to "
    "the print partner (kept as the proof of what was sent).",
)
DOCUMENTS_MAX_ATTEMPTS = config(
    "REGIOHUB_DOCUMENTS_MAX_ATTEMPTS",
    8,
    help_text="How often sealing or sending a letter is tried (with growing pauses) before "
    "it is put on the list of failed letters for staff to resend.",
)
if DOCUMENTS_MAX_ATTEMPTS < 1:
    raise ConfigurationError("REGIOHUB_DOCUMENTS_MAX_ATTEMPTS must be at least 1")
DOCUMENTS_BATCH_HOUR = config(
    "REGIOHUB_DOCUMENTS_BATCH_HOUR",
    15,
    help_text="Hour (local time) at which each municipality's paper letters of the day are "
    "put in a batch and handed to its print partner.",
)
DOCUMENTS_STATUS_MINUTES = config(
    "REGIOHUB_DOCUMENTS_STATUS_MINUTES",
    30,
    help_text="How often the eBox is asked which letters were read and the print partner "
    "what it delivered, in minutes.",
)
DOCUMENTS_MAX_UPLOAD_MB = config(
    "REGIOHUB_DOCUMENTS_MAX_UPLOAD_MB",
    32,
    help_text="Largest letter submission accepted (the PDFs together may be 30 MB, plus "
    "the form), in megabytes.",
)

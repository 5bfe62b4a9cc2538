"""Settings of the open data portal, merged into ``regiohub/settings.py`` (see
``regiohub.conf.module_settings``). Environment names are ``REGIOHUB_OPENDATA_*``."""

from regiohub.conf import ConfigurationError, config

# --- Harvesting other catalogues (opendata.harvest, decision 0031) -----------------------

OPENDATA_HARVEST_HOSTS = config(
    "REGIOHUB_OPENDATA_HARVEST_HOSTS",
    [],
    help_text="Comma-separated hosts a harvest source's feed (and the pages and redirects it "
    "leads to) may name, e.g. data.kortrijk.be,opendata.waregem.be; a host:port entry allows "
    "only that port. Empty: any host that resolves to a public address, never a loopback, "
    "private or link-local one.",
)
OPENDATA_HARVEST_MAX_MB = config(
    "REGIOHUB_OPENDATA_HARVEST_MAX_MB",
    50,
    help_text="Largest page of a harvested catalogue, in MB; a larger answer fails the run.",
)
OPENDATA_HARVEST_MAX_PAGES = config(
    "REGIOHUB_OPENDATA_HARVEST_MAX_PAGES",
    100,
    help_text="Most pages (Hydra paging) one harvest run follows; a catalogue with more "
    "fails the run and nothing changes.",
)
OPENDATA_HARVEST_TIMEOUT_SECONDS = config(
    "REGIOHUB_OPENDATA_HARVEST_TIMEOUT_SECONDS",
    30.0,
    help_text="Time limit to connect to a catalogue and between two parts of its answer, in "
    "seconds; a whole page must arrive within ten times this.",
)
OPENDATA_HARVEST_LEASE_MINUTES = config(
    "REGIOHUB_OPENDATA_HARVEST_LEASE_MINUTES",
    30,
    help_text="A harvest run holds its source for at most this long, so no other worker "
    "harvests it meanwhile; a run that needs longer stops and changes nothing.",
)
if OPENDATA_HARVEST_MAX_MB < 1 or OPENDATA_HARVEST_MAX_PAGES < 1:
    raise ConfigurationError(
        "REGIOHUB_OPENDATA_HARVEST_MAX_MB and REGIOHUB_OPENDATA_HARVEST_MAX_PAGES must be "
        "at least 1"
    )
if OPENDATA_HARVEST_LEASE_MINUTES < 1 or OPENDATA_HARVEST_TIMEOUT_SECONDS <= 0:
    raise ConfigurationError(
        "REGIOHUB_OPENDATA_HARVEST_LEASE_MINUTES must be at least 1 and "
        "REGIOHUB_OPENDATA_HARVEST_TIMEOUT_SECONDS above 0"
    )

# --- Reuses (opendata.views.reuses) ------------------------------------------------------

OPENDATA_REUSE_RATE = config(
    "REGIOHUB_OPENDATA_REUSE_RATE",
    "10/hour",
    help_text="How many reuses (what people built on a dataset) one client address may "
    "submit, e.g. 10/hour; each lands on a data steward's list.",
)

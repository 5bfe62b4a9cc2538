"""Settings of the dashboards, merged into ``regiohub/settings.py`` (see
``regiohub.conf.module_settings``). Environment names are ``REGIOHUB_DASHBOARDS_*``."""

from regiohub.conf import ConfigurationError, config

DASHBOARDS_SUPPRESS_BELOW = config(
    "REGIOHUB_DASHBOARDS_SUPPRESS_BELOW",
    5,
    help_text="Counts below this are not shown on public maps and benchmarks (a district "
    "with 2 reports could point at a person); at least 3.",
)
if DASHBOARDS_SUPPRESS_BELOW < 3:
    raise ConfigurationError("REGIOHUB_DASHBOARDS_SUPPRESS_BELOW must be at least 3")
DASHBOARDS_EMBED_ANCESTORS = config(
    "REGIOHUB_DASHBOARDS_EMBED_ANCESTORS",
    [],
    help_text="Comma-separated origins whose pages may show a public dashboard in a frame "
    "(frame-ancestors), e.g. https://www.kortrijk.be,https://www.menen.be; empty: none.",
)
DASHBOARDS_LIVE_SECONDS = config(
    "REGIOHUB_DASHBOARDS_LIVE_SECONDS",
    300,
    help_text="How long a figure over the contact point's live reports is kept before it "
    "is counted again, in seconds (figures over datasets are kept until a new version).",
)
DASHBOARDS_CACHE_ENTRIES = config(
    "REGIOHUB_DASHBOARDS_CACHE_ENTRIES",
    2000,
    help_text="Figures each process keeps in memory (besides the shared cache).",
)
DASHBOARDS_FOLDERS = config(
    "REGIOHUB_DASHBOARDS_FOLDERS",
    [],
    help_text="Comma-separated folders of <slug>.yaml dashboards that `regiohub demo` and "
    "`regiohub dashboards load` read, besides the ones the platform ships.",
)

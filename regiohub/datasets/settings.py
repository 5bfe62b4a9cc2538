"""Settings of the data platform, merged into ``regiohub/settings.py`` (see
``regiohub.conf.module_settings``). Environment names are ``REGIOHUB_DATASETS_*``."""

from regiohub.conf import ConfigurationError, config, data_dir

DATASETS_URI = config(
    "REGIOHUB_DATASETS_URI",
    str(data_dir() / "datasets"),
    help_text="Where dataset tables (Delta Lake) are stored: a folder, or s3://bucket/prefix.",
)
DATASETS_STORAGE_OPTIONS = config(
    "REGIOHUB_DATASETS_STORAGE_OPTIONS",
    {},
    help_text="JSON object of object-storage options (endpoint, region, keys) for deltalake.",
)
DATASETS_UPLOAD_MB = config(
    "REGIOHUB_DATASETS_UPLOAD_MB",
    1024,
    help_text="Largest file a data steward may upload, in MB; also the most a .zip or .gz "
    "may unpack into.",
)
DATASETS_STREAM_MB = config(
    "REGIOHUB_DATASETS_STREAM_MB",
    256,
    help_text="Files larger than this (in MB, unpacked) are read and converted in batches and "
    "staged on disk beside the upload, so a load never holds the whole file in memory; "
    "0 reads every file that way.",
)
DATASETS_UPLOAD_KEEP_HOURS = config(
    "REGIOHUB_DATASETS_UPLOAD_KEEP_HOURS",
    48,
    help_text="Hours an upload whose columns were not checked is kept; then the load expires.",
)
DATASETS_QUERY_SECONDS = config(
    "REGIOHUB_DATASETS_QUERY_SECONDS",
    10.0,
    help_text="Time limit of one dataset query; longer queries are stopped.",
)
DATASETS_QUERY_MAX_ROWS = config(
    "REGIOHUB_DATASETS_QUERY_MAX_ROWS",
    100_000,
    help_text="Most rows one query answer may hold (downloads of a whole version excepted).",
)
DATASETS_DOWNLOAD_RATE = config(
    "REGIOHUB_DATASETS_DOWNLOAD_RATE",
    "120/hour",
    help_text="Whole-version downloads one client address may start.",
)
DATASETS_DOWNLOAD_CACHE_MB = config(
    "REGIOHUB_DATASETS_DOWNLOAD_CACHE_MB",
    2048,
    help_text="Most disk space, in MB, the files of whole-version downloads kept in "
    "REGIOHUB_DATA_DIR/downloads may take; the least recently used go first. 0 keeps none.",
)
DATASETS_QUERY_CACHE = config(
    "REGIOHUB_DATASETS_QUERY_CACHE",
    256,
    help_text="Answers (up to 10,000 rows each) each server process keeps; 0 switches off.",
)
DATASETS_OPEN_CACHE_SECONDS = config(
    "REGIOHUB_DATASETS_OPEN_CACHE_SECONDS",
    2.0,
    help_text="Seconds each server process answers anonymous questions about an open dataset "
    "from what it last read of it (its access and current version) without asking the "
    "database; a change made in another process (a new version, access no longer open) "
    "reaches it at most this late. 0 reads the database on every request.",
)
DATASETS_DUCKDB_THREADS = config(
    "REGIOHUB_DATASETS_DUCKDB_THREADS",
    2,
    help_text="Threads each DuckDB query may use.",
)
DATASETS_DUCKDB_MEMORY = config(
    "REGIOHUB_DATASETS_DUCKDB_MEMORY",
    "1GB",
    help_text="Memory limit of DuckDB in each server process, e.g. 1GB.",
)
DATASETS_FEED_HOSTS = config(
    "REGIOHUB_DATASETS_FEED_HOSTS",
    {},
    help_text="JSON object: per feed kind, the hosts its API address may name, e.g. "
    '{"telraam": ["telraam-api.net"]}; replaces that kind\'s built-in list.',
)
if not all(
    isinstance(kind, str)
    and isinstance(hosts, list)
    and all(isinstance(host, str) and host.strip() for host in hosts)
    for kind, hosts in DATASETS_FEED_HOSTS.items()
):
    raise ConfigurationError(
        "REGIOHUB_DATASETS_FEED_HOSTS must map each feed kind to a list of host names, "
        'e.g. {"telraam": ["telraam-api.net"]}'
    )
DATASETS_WRITE_MB = config(
    "REGIOHUB_DATASETS_WRITE_MB",
    10,
    help_text="Largest body one call of the write API (POST /api/v1/datasets/<slug>/rows/) "
    "may send, in MB; 413 above it.",
)
DATASETS_WRITE_KEY_HOURS = config(
    "REGIOHUB_DATASETS_WRITE_KEY_HOURS",
    24,
    help_text="Hours the write API remembers an Idempotency-Key with its answer.",
)

"""regiohub: the platform a region of municipalities installs once and shares."""

__version__ = "0.1.0"

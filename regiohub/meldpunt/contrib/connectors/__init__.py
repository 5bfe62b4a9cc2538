"""Back-office connectors: a small abstract base, a registry, one folder per connector."""

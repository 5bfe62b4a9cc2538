"""A generic signed webhook: JSON out, HMAC-signed status callbacks in."""

"""Integrations of the contact point, one package each: plugins on the registry base of
:mod:`regiohub.core.plugins` (see docs/architecture.md, "Plugins")."""

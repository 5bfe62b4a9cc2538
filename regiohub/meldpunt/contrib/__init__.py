"""Integrations of the contact point, one package each (see STYLE: integrations are plugins)."""

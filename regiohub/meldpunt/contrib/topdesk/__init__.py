"""TOPdesk: reports become incidents (``/tas/api/incidents``); their status is polled, and
regiohub's own messages and status changes are added to them as actions."""

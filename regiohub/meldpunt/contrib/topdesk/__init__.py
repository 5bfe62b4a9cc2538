"""TOPdesk: reports become incidents (``/tpapi/incidents``); their status is polled."""

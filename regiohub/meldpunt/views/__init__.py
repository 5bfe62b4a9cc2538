"""Pages of the contact point: ``public`` for citizens (no login), ``staff`` for agents
and handlers. Views are thin: they validate a form and call one service."""

"""The Textual front end: screens render queue state and dispatch to the core services."""

"""Business rules. No Flask request, session or flash in here."""

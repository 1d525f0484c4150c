"""What every domain shares, depending on none of them: domain errors, events (the outbox), audit, alerts, links and signed tokens, audited records, formats."""

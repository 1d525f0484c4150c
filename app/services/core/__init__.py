"""What every domain shares: domain errors, events (the outbox), audit, alerts, links, formats."""

"""Background work: the outbox dispatcher, scheduled jobs and data retention."""

"""Messages: outbox handlers that send emails about bookings, payments, sessions, certificates and alerts; email rendering, settings and transports."""

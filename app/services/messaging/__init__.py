"""Messages and documents: outbox handlers that send emails, email rendering and transports, PDFs and calendar files."""

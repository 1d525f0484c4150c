"""On-site training enquiries: the public form's rules and intake (intake), and
what the office does with an enquiry: answer it by email, close it, or arrange
a private session for it (office). Emails go through the outbox
(app.services.messaging.enquiry_emails)."""

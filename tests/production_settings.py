"""Settings production accepts, for tests that build a production configuration."""

# Random-looking, 43 characters: what `secrets.token_urlsafe(32)` makes.
PRODUCTION_SECRET_KEY = "q7Vw2dK9sXr4LmB8nT1yHc6ZpF3gJ0aEoU5iWkRxYbN"
PRODUCTION_HOST = "book.example.co.uk"

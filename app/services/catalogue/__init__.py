"""The catalogue: courses, venues, sessions and the timetable, and the public read side (listing, search, availability)."""

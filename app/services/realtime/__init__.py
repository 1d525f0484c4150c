"""Live seat counts: announcements after commit, transports between processes, and the per-process hub."""

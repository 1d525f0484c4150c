"""Staff: accounts, passwords and sign-in, trainers, rosters, attendance and certificates."""

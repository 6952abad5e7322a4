"""Who is calling: sign-in, sessions, password hashes, and the principal of each request."""

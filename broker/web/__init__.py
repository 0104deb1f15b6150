"""Server-rendered pages for people (information-governance leads), signed in with a password."""

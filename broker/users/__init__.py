"""People who sign in to the web pages: accounts, password hashes and browser sessions."""

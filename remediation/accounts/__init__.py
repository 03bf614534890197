"""Who may call the API and sign in to the pages: API tokens, stored as a digest (a database
reader gets no key), and sign-in through an OpenID provider (docs/security.md, "Signing in")."""

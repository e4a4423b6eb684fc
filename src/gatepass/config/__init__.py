"""Config layers in Komodo's TOML format: finding files, validating them, caching the parse."""

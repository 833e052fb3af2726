"""iii-console: a web console (single-page app) for the engine, served on port 3113."""

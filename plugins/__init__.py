"""Built-in plugins: one module each. Modules whose names start with "_" hold
shared helpers and are not loaded as plugins."""

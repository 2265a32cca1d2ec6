"""The built-in expanders, one module each; every Expander subclass defined
in a module of this package is found by expansion.registry."""

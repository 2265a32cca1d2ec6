"""Outputs made from the case store."""

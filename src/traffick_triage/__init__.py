"""traffick-triage: forensic triage of seized evidence."""

__version__ = "0.1.0"

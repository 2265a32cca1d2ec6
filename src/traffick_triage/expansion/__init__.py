"""Files inside files: archives, documents, mail and caches found in the
evidence are opened as evidence within evidence (issue 17). ``api`` is the
contract every expander meets; the walk that applies them lives beside it."""

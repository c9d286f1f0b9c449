"""Files: the snapshot codec, YAML text, atomic writes, recordings, and the one loader
that picks the format."""

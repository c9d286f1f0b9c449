"""Collection: backends fetch text (local /proc and kernel-wide files, adb, files), pure
parsers read it, and one ``assemble()`` builds the Snapshot."""

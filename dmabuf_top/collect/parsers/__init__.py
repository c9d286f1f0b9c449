"""Pure parsers: kernel text in, records out.

They know nothing of where the text came from (a local /proc, an adb
collector stream, a test fixture); both backends share them.
"""

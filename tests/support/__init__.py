"""Test helpers: the ADB peer and adb server harness, synthetic snapshots, Pilot
helpers, the real-kernel VM."""

"""The real-kernel qemu VM harness (host side) and the scripts it runs in the guest."""

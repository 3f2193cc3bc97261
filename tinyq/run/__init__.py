"""Running generated models: as a host process, under QEMU, or on a board over serial."""

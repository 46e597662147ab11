"""The two nets and their checkpoint files: no I/O beyond loading, no threads."""

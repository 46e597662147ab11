"""ciel-node: a headless node that walks two cracked nets and publishes neural noise."""

__version__ = "0.1.0"

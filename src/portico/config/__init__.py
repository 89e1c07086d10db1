"""Configuration: the typed model of `portico.yaml`, its loader and cross-checks."""

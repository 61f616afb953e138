"""What to measure, as declared: suites, implementation manifests, the endpoint kinds, and
the YAML reading that names file, line and key on every mistake. Pure: no process runs here."""

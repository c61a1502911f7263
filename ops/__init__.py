"""Operational tooling run from the repository: local service harness, load, fault and abuse
runs. Nothing here is imported by the web application."""

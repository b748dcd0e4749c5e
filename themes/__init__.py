"""Bundled sesstui themes (YAML files in this folder)."""

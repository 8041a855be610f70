"""The `seamline` command."""

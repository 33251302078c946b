"""The `pystatus` command."""

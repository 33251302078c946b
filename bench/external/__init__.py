"""Reference implementations benchmarked beside pystatus; each runs in its own environment."""

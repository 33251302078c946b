"""gossipsub v1.1 as a sans-IO router, configured by default the way Waku relay runs it."""

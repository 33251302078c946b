"""Stream multiplexers (yamux, mplex): sans-IO sessions behind one interface."""

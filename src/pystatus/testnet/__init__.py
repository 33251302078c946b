"""Node processes on 127.0.0.1 with faults between them (``pystatus testnet``)."""

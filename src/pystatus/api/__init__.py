"""The REST API, shaped like nwaku's (waku-org/nwaku openapi), over a running WakuNode."""

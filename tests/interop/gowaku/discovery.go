package main

// Discovery commands for the discovery bench (bench/discovery.py): go-waku's DNS discovery
// against a name server on any port (go-waku's own WithNameserver always asks port 53).

import (
	"context"
	"net"

	"github.com/waku-org/go-waku/waku/v2/dnsdisc"
	wps "github.com/waku-org/go-waku/waku/v2/peerstore"
)

func init() {
	// dns_discover reads the tree at url as go-waku's DNS discovery does and hands every
	// node found to the peer manager to connect now, as go-waku's own command does at start.
	command("dns_discover", func(ctx context.Context, p *peer, a *struct {
		nodeArgs
		URL        string `json:"url"`
		NameServer string `json:"nameServer"`
	}) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
		defer cancel()
		resolver := &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, a.NameServer)
			},
		}
		nodes, err := dnsdisc.RetrieveNodes(ctx, a.URL, dnsdisc.WithResolver(resolver))
		if err != nil {
			return nil, err
		}
		for _, d := range nodes {
			n.node.AddDiscoveredPeer(d.PeerID, d.PeerInfo.Addrs, wps.DNSDiscovery, nil, d.ENR, true)
		}
		return obj{"found": len(nodes)}, nil
	})
}

package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"go.uber.org/zap"

	"github.com/waku-org/go-waku/waku/persistence"
	"github.com/waku-org/go-waku/waku/persistence/sqlite"
	"github.com/waku-org/go-waku/waku/v2/node"
	"github.com/waku-org/go-waku/waku/v2/protocol"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"

	"github.com/prometheus/client_golang/prometheus"
)

// goWakuVersion is the go-waku module version go.mod pins (the one status-go v1.1.0 uses).
const goWakuVersion = "v0.8.1-0.20240904143057-f9e7895202da"

// request is one command line; each command decodes its own fields from raw.
type request struct {
	ID  int    `json:"id"`
	Cmd string `json:"cmd"`
	raw []byte
}

func (r *request) UnmarshalJSON(b []byte) error {
	type head struct {
		ID  int    `json:"id"`
		Cmd string `json:"cmd"`
	}
	var h head
	if err := json.Unmarshal(b, &h); err != nil {
		return err
	}
	r.ID, r.Cmd, r.raw = h.ID, h.Cmd, append([]byte(nil), b...)
	return nil
}

// wakuNode is one go-waku node and what this program keeps beside it.
type wakuNode struct {
	index  int
	node   *node.WakuNode
	db     *persistence.DBStore
	sqlDB  *sql.DB
	dbPath string
	cancel context.CancelFunc
	stats  *relayStats
}

type peer struct {
	ctx    context.Context
	out    *jsonOut
	logger *zap.Logger
	mu     sync.Mutex
	nodes  []*wakuNode
}

func newPeer(ctx context.Context, out *jsonOut, logger *zap.Logger) *peer {
	return &peer{ctx: ctx, out: out, logger: logger}
}

func (p *peer) node(index int) (*wakuNode, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if index < 0 || index >= len(p.nodes) || p.nodes[index] == nil {
		return nil, fmt.Errorf("no node %d", index)
	}
	return p.nodes[index], nil
}

func (p *peer) stopAll() {
	p.mu.Lock()
	nodes := p.nodes
	p.nodes = nil
	p.mu.Unlock()
	for _, n := range nodes {
		if n != nil {
			n.stop()
		}
	}
}

func (n *wakuNode) stop() {
	n.node.Stop()
	n.cancel()
	if n.db != nil {
		n.db.Stop()
	}
}

type handler func(ctx context.Context, p *peer, raw []byte) (obj, error)

var handlers = map[string]handler{}

func (p *peer) run(ctx context.Context, req request) {
	h, ok := handlers[req.Cmd]
	if !ok {
		p.out.emit(obj{"id": req.ID, "ok": false, "error": "unknown command " + req.Cmd})
		return
	}
	reply, err := h(ctx, p, req.raw)
	if err != nil {
		p.out.emit(obj{"id": req.ID, "ok": false, "error": err.Error()})
		return
	}
	if reply == nil {
		reply = obj{}
	}
	reply["id"], reply["ok"] = req.ID, true
	p.out.emit(reply)
}

// command registers a handler whose arguments decode into a fresh A.
func command[A any](name string, f func(ctx context.Context, p *peer, args *A) (obj, error)) {
	handlers[name] = func(ctx context.Context, p *peer, raw []byte) (obj, error) {
		args := new(A)
		if err := json.Unmarshal(raw, args); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return f(ctx, p, args)
	}
}

// message is a Waku message as JSON: payload and meta in base64, timestamp in Unix ns.
type message struct {
	Payload      string `json:"payload"`
	ContentTopic string `json:"contentTopic"`
	Timestamp    *int64 `json:"timestamp,omitempty"`
	Meta         string `json:"meta,omitempty"`
	Version      uint32 `json:"version,omitempty"`
	Ephemeral    bool   `json:"ephemeral,omitempty"`
}

func (m *message) toProto() (*wpb.WakuMessage, error) {
	payload, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	meta, err := base64.StdEncoding.DecodeString(m.Meta)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	msg := &wpb.WakuMessage{Payload: payload, ContentTopic: m.ContentTopic, Timestamp: m.Timestamp}
	if len(meta) > 0 {
		msg.Meta = meta
	}
	if m.Version != 0 {
		msg.Version = &m.Version
	}
	if m.Ephemeral {
		msg.Ephemeral = &m.Ephemeral
	}
	return msg, nil
}

func messageJSON(msg *wpb.WakuMessage) obj {
	out := obj{
		"payload":      base64.StdEncoding.EncodeToString(msg.Payload),
		"contentTopic": msg.ContentTopic,
		"timestamp":    msg.GetTimestamp(),
		"version":      msg.GetVersion(),
	}
	if len(msg.Meta) > 0 {
		out["meta"] = base64.StdEncoding.EncodeToString(msg.Meta)
	}
	return out
}

func hashHex(h []byte) string { return hex.EncodeToString(h) }

func parseHash(s string) (wpb.MessageHash, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return wpb.MessageHash{}, fmt.Errorf("bad message hash %q", s)
	}
	return wpb.ToMessageHash(b), nil
}

// -- start, stop, dial, peers ---------------------------------------------------------------

type startArgs struct {
	ClusterID      uint16   `json:"clusterId"`
	PubsubTopics   []string `json:"pubsubTopics"`
	Relay          bool     `json:"relay"`
	Store          bool     `json:"store"`
	StoreDB        string   `json:"storeDb"`
	Filter         bool     `json:"filter"`
	FilterClient   bool     `json:"filterClient"`
	Lightpush      bool     `json:"lightpush"`
	PeerExchange   bool     `json:"peerExchange"`
	Discv5UDPPort  uint     `json:"discv5UdpPort"`
	Bootnodes      []string `json:"bootnodes"`
	MaxMessageSize int      `json:"maxMessageSize"`
}

func init() {
	command("start", cmdStart)
	command("stop_node", func(ctx context.Context, p *peer, a *struct {
		Node int `json:"node"`
	}) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.nodes[a.Node] = nil
		p.mu.Unlock()
		n.stop()
		return nil, nil
	})
	command("dial", func(ctx context.Context, p *peer, a *struct {
		Node    int     `json:"node"`
		Addr    string  `json:"addr"`
		Timeout float64 `json:"timeout"`
	}) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
		defer cancel()
		if err := n.node.DialPeer(ctx, a.Addr); err != nil {
			return nil, err
		}
		return nil, nil
	})
	command("peers", func(ctx context.Context, p *peer, a *struct {
		Node int `json:"node"`
	}) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		h := n.node.Host()
		var list []obj
		for _, id := range h.Peerstore().Peers() {
			if id == h.ID() {
				continue
			}
			protos, _ := h.Peerstore().GetProtocols(id)
			names := make([]string, 0, len(protos))
			for _, pr := range protos {
				names = append(names, string(pr))
			}
			list = append(list, obj{
				"peerId":    id.String(),
				"connected": h.Network().Connectedness(id).String(),
				"protocols": names,
			})
		}
		return obj{"peers": list}, nil
	})
}

func seconds(v float64, fallback float64) time.Duration {
	if v <= 0 {
		v = fallback
	}
	return time.Duration(v * float64(time.Second))
}

func cmdStart(ctx context.Context, p *peer, a *startArgs) (obj, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	hostAddr, err := net.ResolveTCPAddr("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	opts := []node.WakuNodeOption{
		node.WithPrivateKey(key),
		node.WithHostAddress(hostAddr),
		node.WithLogger(p.logger),
		node.WithPrometheusRegisterer(prometheus.NewRegistry()),
		// Every test peer dials from 127.0.0.1; go-waku's default allows 5 per IP.
		node.WithMaxConnectionsPerIP(1000),
		node.WithClusterID(a.ClusterID),
	}
	if len(a.PubsubTopics) > 0 {
		opts = append(opts, node.WithPubSubTopics(a.PubsubTopics))
	}
	if a.Relay {
		opts = append(opts, node.WithWakuRelay())
	}
	if a.MaxMessageSize > 0 {
		opts = append(opts, node.WithMaxMsgSize(a.MaxMessageSize))
	}
	w := &wakuNode{stats: newRelayStats()}
	if a.Store {
		if a.StoreDB == "" {
			return nil, errors.New("store needs storeDb (a SQLite file path)")
		}
		db, err := sqlite.NewDB(a.StoreDB, p.logger)
		if err != nil {
			return nil, err
		}
		dbStore, err := persistence.NewDBStore(prometheus.NewRegistry(), p.logger,
			persistence.WithDB(db), persistence.WithMigrations(sqlite.Migrations),
			persistence.WithRetentionPolicy(0, 0))
		if err != nil {
			return nil, err
		}
		w.db, w.dbPath, w.sqlDB = dbStore, a.StoreDB, db
		opts = append(opts, node.WithWakuStore(), node.WithMessageProvider(dbStore))
	}
	if a.Filter {
		opts = append(opts, node.WithWakuFilterFullNode())
	}
	if a.FilterClient {
		opts = append(opts, node.WithWakuFilterLightNode())
	}
	if a.Lightpush {
		opts = append(opts, node.WithLightPush())
	}
	if a.Discv5UDPPort != 0 {
		var boot []*enode.Node
		for _, b := range a.Bootnodes {
			n, err := enode.Parse(enode.ValidSchemes, b)
			if err != nil {
				return nil, fmt.Errorf("bootnode %q: %w", b, err)
			}
			boot = append(boot, n)
		}
		opts = append(opts, node.WithDiscoveryV5(a.Discv5UDPPort, boot, true))
	}
	if a.PeerExchange {
		opts = append(opts, node.WithPeerExchange())
	}
	wn, err := node.New(opts...)
	if err != nil {
		return nil, err
	}
	nodeCtx, cancel := context.WithCancel(p.ctx)
	if err := wn.Start(nodeCtx); err != nil {
		cancel()
		return nil, err
	}
	w.node, w.cancel = wn, cancel
	if a.Discv5UDPPort != 0 {
		if err := wn.DiscV5().Start(nodeCtx); err != nil {
			w.stop()
			return nil, fmt.Errorf("discv5: %w", err)
		}
	}
	if a.Relay {
		// go-waku joins a topic's mesh only once something subscribes to it; the filter and
		// light push services rely on the node relaying their topics too.
		for _, t := range a.PubsubTopics {
			subs, err := wn.Relay().Subscribe(nodeCtx, protocol.NewContentFilter(t))
			if err != nil {
				w.stop()
				return nil, fmt.Errorf("relay subscribe %s: %w", t, err)
			}
			for _, s := range subs {
				go drain(nodeCtx, s)
			}
		}
	}
	p.mu.Lock()
	w.index = len(p.nodes)
	p.nodes = append(p.nodes, w)
	p.mu.Unlock()
	return w.describe(), nil
}

// drain empties a relay subscription nobody reads (the node relays the topic regardless).
func drain(ctx context.Context, s *relay.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-s.Ch:
			if !ok {
				return
			}
		}
	}
}

func (w *wakuNode) describe() obj {
	addrs := []string{}
	for _, a := range w.node.ListenAddresses() {
		addrs = append(addrs, a.String())
	}
	out := obj{"node": w.index, "peerId": w.node.Host().ID().String(), "listenAddrs": addrs}
	if e := w.node.ENR(); e != nil {
		out["enr"] = e.String()
	}
	return out
}

func peerIDOf(addr string) (libp2ppeer.ID, error) {
	i := strings.LastIndex(addr, "/p2p/")
	if i < 0 {
		return "", fmt.Errorf("address %q has no /p2p/ part", addr)
	}
	return libp2ppeer.Decode(addr[i+5:])
}

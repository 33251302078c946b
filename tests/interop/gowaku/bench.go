package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/waku-org/go-waku/waku/v2/protocol"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"
	"github.com/waku-org/go-waku/waku/v2/protocol/store"
)

// relayStats counts the bench messages a node receives and when the last arrived; waiters
// are woken through changed, which is closed and replaced on every arrival.
type relayStats struct {
	mu       sync.Mutex
	changed  chan struct{}
	received int
	lastAt   time.Time
}

func newRelayStats() *relayStats { return &relayStats{changed: make(chan struct{})} }

func (s *relayStats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received, s.lastAt = 0, time.Time{}
}

func (s *relayStats) record() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	s.lastAt = now
	close(s.changed)
	s.changed = make(chan struct{})
}

func init() {
	command("bench_listen", func(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		n.stats.reset()
		subs, err := n.node.Relay().Subscribe(p.ctx, protocol.NewContentFilter(a.PubsubTopic))
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			go func(ch <-chan *protocol.Envelope) {
				for {
					select {
					case <-p.ctx.Done():
						return
					case _, ok := <-ch:
						if !ok {
							return
						}
						n.stats.record()
					}
				}
			}(s.Ch)
		}
		return nil, nil
	})
	command("bench_relay", cmdBenchRelay)
	command("bench_latency", cmdBenchLatency)
	command("legacy_store_fill", cmdLegacyStoreFill)
	command("store_bench", cmdStoreBench)
}

// waitReceived blocks until the node has received at least want bench messages; false when
// the deadline passes first.
func (s *relayStats) waitReceived(ctx context.Context, want int, deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		s.mu.Lock()
		done, changed := s.received >= want, s.changed
		s.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

type benchRelayArgs struct {
	nodeArgs
	To           int    `json:"to"`
	PubsubTopic  string `json:"pubsubTopic"`
	ContentTopic string `json:"contentTopic"`
	Count        int    `json:"count"`
	Size         int    `json:"size"`
	Window       int    `json:"window"`
	Warmup       int    `json:"warmup"`
}

func (a *benchRelayArgs) message() (*wpb.WakuMessage, error) {
	payload := make([]byte, a.Size)
	if _, err := rand.Read(payload); err != nil {
		return nil, err
	}
	ts := time.Now().UnixNano()
	return &wpb.WakuMessage{Payload: payload, ContentTopic: a.ContentTopic, Timestamp: &ts}, nil
}

// bench_relay publishes count messages of size random bytes at node and answers how fast
// node "to" (which ran bench_listen) received them: messages per second from the first
// publish to the last arrival. At most window messages are in flight (published, not yet
// arrived): go-libp2p-pubsub drops what overflows a peer's 32-message outbound queue, so an
// unbounded flood would measure drops, not relaying.
func cmdBenchRelay(ctx context.Context, p *peer, a *benchRelayArgs) (obj, error) {
	from, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	to, err := p.node(a.To)
	if err != nil {
		return nil, err
	}
	if a.Window <= 0 {
		a.Window = 32
	}
	deadline := time.Now().Add(seconds(a.Timeout, 120))
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// Gossipsub forwards only along mesh links, which form at heartbeats after the peers
	// meet: probe until one message crosses the whole line before timing anything.
	if err := probe(ctx, from, to, a, deadline); err != nil {
		return nil, err
	}
	to.stats.reset()
	start := time.Now()
	lost := 0
	for i := 0; i < a.Count; i++ {
		// A message lost on the way never arrives: after a second without progress it is
		// counted lost (so the window does not shrink for good) and the flood goes on; the
		// reply's "received" tells the loss.
		if i-lost >= a.Window {
			want := i - lost - a.Window + 1
			if !to.stats.waitReceived(ctx, want, minTime(deadline, time.Now().Add(time.Second))) {
				lost++
			}
		}
		if ctx.Err() != nil {
			break
		}
		msg, err := a.message()
		if err != nil {
			return nil, err
		}
		if _, err := from.node.Relay().Publish(ctx, msg, relay.WithPubSubTopic(a.PubsubTopic)); err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
	}
	to.stats.waitReceived(ctx, a.Count, deadline)
	to.stats.mu.Lock()
	defer to.stats.mu.Unlock()
	return obj{"received": to.stats.received, "seconds": to.stats.lastAt.Sub(start).Seconds()}, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func probe(ctx context.Context, from, to *wakuNode, a *benchRelayArgs, deadline time.Time) error {
	for {
		to.stats.reset()
		msg, err := a.message()
		if err != nil {
			return err
		}
		if _, err := from.node.Relay().Publish(ctx, msg, relay.WithPubSubTopic(a.PubsubTopic)); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		if to.stats.waitReceived(ctx, 1, minTime(deadline, time.Now().Add(500*time.Millisecond))) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no probe crossed from node %d to node %d", from.index, to.index)
		}
	}
}

// bench_latency publishes one message at a time at node and times each until node "to" has
// it (both nodes are in this process: one clock); the first warmup are left out. Answers the
// round trips in microseconds.
func cmdBenchLatency(ctx context.Context, p *peer, a *benchRelayArgs) (obj, error) {
	from, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	to, err := p.node(a.To)
	if err != nil {
		return nil, err
	}
	if err := probe(ctx, from, to, a, time.Now().Add(30*time.Second)); err != nil {
		return nil, err
	}
	to.stats.reset()
	lat := make([]int64, 0, a.Count)
	for i := 0; i < a.Warmup+a.Count; i++ {
		msg, err := a.message()
		if err != nil {
			return nil, err
		}
		began := time.Now()
		if _, err := from.node.Relay().Publish(ctx, msg, relay.WithPubSubTopic(a.PubsubTopic)); err != nil {
			return nil, fmt.Errorf("publish %d: %w", i, err)
		}
		if !to.stats.waitReceived(ctx, i+1, time.Now().Add(10*time.Second)) {
			return nil, fmt.Errorf("message %d did not arrive in 10 s", i)
		}
		if i >= a.Warmup {
			lat = append(lat, time.Since(began).Microseconds())
		}
	}
	return obj{"latenciesUs": lat}, nil
}

// legacy_store_fill writes count messages straight into the node's store database in one
// transaction (the bench needs a large archive quickly; relaying a million would take
// hours). Message i has timestamp start + i*step and content topic contentTopics[i % len].
func cmdLegacyStoreFill(ctx context.Context, p *peer, a *struct {
	nodeArgs
	PubsubTopic   string   `json:"pubsubTopic"`
	ContentTopics []string `json:"contentTopics"`
	Count         int      `json:"count"`
	Size          int      `json:"size"`
	Start         int64    `json:"start"`
	Step          int64    `json:"step"`
}) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	if n.sqlDB == nil {
		return nil, fmt.Errorf("node %d runs no store", a.Node)
	}
	if len(a.ContentTopics) == 0 {
		return nil, fmt.Errorf("contentTopics is empty")
	}
	began := time.Now()
	const batch = 20000
	for from := 0; from < a.Count; from += batch {
		tx, err := n.sqlDB.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		stmt, err := tx.Prepare("INSERT INTO message (id, messageHash, storedAt, timestamp, contentTopic, pubsubTopic, payload, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
		if err != nil {
			_ = tx.Rollback()
			return nil, err
		}
		for i := from; i < from+batch && i < a.Count; i++ {
			payload := make([]byte, a.Size)
			_, _ = rand.Read(payload)
			ts := a.Start + int64(i)*a.Step
			msg := &wpb.WakuMessage{Payload: payload, ContentTopic: a.ContentTopics[i%len(a.ContentTopics)], Timestamp: &ts}
			env := protocol.NewEnvelope(msg, ts, a.PubsubTopic)
			hash := env.Hash()
			if _, err := stmt.Exec(env.Index().Digest, hash[:], ts, ts, msg.ContentTopic, a.PubsubTopic, payload, 0); err != nil {
				_ = tx.Rollback()
				return nil, err
			}
		}
		_ = stmt.Close()
		if err := tx.Commit(); err != nil {
			return nil, err
		}
	}
	return obj{"seconds": time.Since(began).Seconds()}, nil
}

// store_bench runs queries one after another against the store at peer and answers each
// one's round trip in microseconds. Query i asks for one page of contentTopics within
// windows[i % len] ([start, end] in Unix ns), newest first, or looks up hashes[i % len] when
// hashes are given. legacy uses /vac/waku/store/2.0.0-beta4 (go-waku's server), else store v3.
func cmdStoreBench(ctx context.Context, p *peer, a *struct {
	nodeArgs
	Peer          string     `json:"peer"`
	Legacy        bool       `json:"legacy"`
	Queries       int        `json:"queries"`
	PubsubTopic   string     `json:"pubsubTopic"`
	ContentTopics []string   `json:"contentTopics"`
	Windows       [][2]int64 `json:"windows"`
	Hashes        []string   `json:"hashes"`
	PageSize      uint64     `json:"pageSize"`
}) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	if len(a.Windows) == 0 && len(a.Hashes) == 0 {
		return nil, fmt.Errorf("give windows or hashes")
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 300))
	defer cancel()
	lat := make([]int64, 0, a.Queries)
	total := 0
	for i := 0; i < a.Queries; i++ {
		began := time.Now()
		got := 0
		switch {
		case len(a.Hashes) > 0:
			h, err := parseHash(a.Hashes[i%len(a.Hashes)])
			if err != nil {
				return nil, err
			}
			r, err := n.node.Store().Request(ctx, store.MessageHashCriteria{MessageHashes: []wpb.MessageHash{h}},
				store.WithPeerAddr(addr), store.WithPaging(false, a.PageSize))
			if err != nil {
				return nil, fmt.Errorf("query %d: %w", i, err)
			}
			got = len(r.Messages())
		case a.Legacy:
			w := a.Windows[i%len(a.Windows)]
			start, end := w[0], w[1]
			r, err := n.node.LegacyStore().Query(ctx, legacy_store.Query{PubsubTopic: a.PubsubTopic,
				ContentTopics: a.ContentTopics, StartTime: &start, EndTime: &end},
				legacy_store.WithPeerAddr(addr), legacy_store.WithPaging(false, a.PageSize))
			if err != nil {
				return nil, fmt.Errorf("query %d: %w", i, err)
			}
			got = len(r.Messages)
		default:
			w := a.Windows[i%len(a.Windows)]
			start, end := w[0], w[1]
			r, err := n.node.Store().Request(ctx, store.FilterCriteria{
				ContentFilter: protocol.NewContentFilter(a.PubsubTopic, a.ContentTopics...),
				TimeStart:     &start, TimeEnd: &end},
				store.WithPeerAddr(addr), store.WithPaging(false, a.PageSize))
			if err != nil {
				return nil, fmt.Errorf("query %d: %w", i, err)
			}
			got = len(r.Messages())
		}
		lat = append(lat, time.Since(began).Microseconds())
		total += got
	}
	return obj{"latenciesUs": lat, "messages": total}, nil
}

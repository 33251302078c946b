package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/waku-org/go-waku/waku/v2/protocol"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"
	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"
	"github.com/waku-org/go-waku/waku/v2/protocol/store"
)

// maxSamples bounds the latencies one node keeps for a bench run.
const maxSamples = 1 << 20

// relayStats counts the messages a node receives on a bench topic and how long each took
// since the sender stamped it (wall clock, Unix ns: sender and receiver share this machine).
type relayStats struct {
	mu        sync.Mutex
	changed   chan struct{}
	received  int
	firstAt   time.Time
	lastAt    time.Time
	latencies []int64
}

func newRelayStats() *relayStats { return &relayStats{changed: make(chan struct{})} }

func (s *relayStats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received, s.latencies = 0, nil
	s.firstAt, s.lastAt = time.Time{}, time.Time{}
}

func (s *relayStats) record(env *protocol.Envelope) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received == 0 {
		s.firstAt = now
	}
	s.received++
	s.lastAt = now
	if len(s.latencies) < maxSamples {
		s.latencies = append(s.latencies, now.UnixNano()-env.Message().GetTimestamp())
	}
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
					case env, ok := <-ch:
						if !ok {
							return
						}
						n.stats.record(env)
					}
				}
			}(s.Ch)
		}
		return nil, nil
	})
	command("bench_reset", func(ctx context.Context, p *peer, a *nodeArgs) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		n.stats.reset()
		return nil, nil
	})
	command("bench_wait", cmdBenchWait)
	command("bench_flood", cmdBenchFlood)
	command("legacy_store_fill", cmdLegacyStoreFill)
	command("store_bench", cmdStoreBench)
}

// bench_wait waits until the node has received count bench messages (or the timeout) and
// answers how many arrived, over how long, and their latencies in microseconds.
func cmdBenchWait(ctx context.Context, p *peer, a *struct {
	nodeArgs
	Count int `json:"count"`
}) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(seconds(a.Timeout, 60))
	defer deadline.Stop()
	for {
		n.stats.mu.Lock()
		done, changed := n.stats.received >= a.Count, n.stats.changed
		n.stats.mu.Unlock()
		if done {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			goto out
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
out:
	n.stats.mu.Lock()
	defer n.stats.mu.Unlock()
	lat := make([]int64, len(n.stats.latencies))
	for i, l := range n.stats.latencies {
		lat[i] = l / 1000
	}
	return obj{
		"received":    n.stats.received,
		"firstAtNs":   n.stats.firstAt.UnixNano(),
		"lastAtNs":    n.stats.lastAt.UnixNano(),
		"latenciesUs": lat,
	}, nil
}

// bench_flood publishes count messages of size random bytes, each stamped with the wall
// clock when it is published, at most rate per second (0: as fast as publish returns).
func cmdBenchFlood(ctx context.Context, p *peer, a *struct {
	nodeArgs
	PubsubTopic  string  `json:"pubsubTopic"`
	ContentTopic string  `json:"contentTopic"`
	Count        int     `json:"count"`
	Size         int     `json:"size"`
	Rate         float64 `json:"rate"`
}) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 120))
	defer cancel()
	start := time.Now()
	failed := 0
	for i := 0; i < a.Count; i++ {
		if a.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / a.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
		}
		payload := make([]byte, a.Size)
		if _, err := rand.Read(payload); err != nil {
			return nil, err
		}
		ts := time.Now().UnixNano()
		msg := &wpb.WakuMessage{Payload: payload, ContentTopic: a.ContentTopic, Timestamp: &ts}
		if _, err := n.node.Relay().Publish(ctx, msg, relay.WithPubSubTopic(a.PubsubTopic)); err != nil {
			failed++
		}
	}
	return obj{"sent": a.Count - failed, "failed": failed, "seconds": time.Since(start).Seconds()}, nil
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
	sorted := append([]int64(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return obj{"latenciesUs": lat, "messages": total}, nil
}

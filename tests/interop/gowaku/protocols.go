package main

import (
	"context"
	"fmt"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/waku-org/go-waku/waku/v2/protocol"
	"github.com/waku-org/go-waku/waku/v2/protocol/filter"
	"github.com/waku-org/go-waku/waku/v2/protocol/legacy_store"
	"github.com/waku-org/go-waku/waku/v2/protocol/lightpush"
	"github.com/waku-org/go-waku/waku/v2/protocol/peer_exchange"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"
	"github.com/waku-org/go-waku/waku/v2/protocol/store"
)

type nodeArgs struct {
	Node    int     `json:"node"`
	Timeout float64 `json:"timeout"`
}

type topicArgs struct {
	nodeArgs
	PubsubTopic   string   `json:"pubsubTopic"`
	ContentTopics []string `json:"contentTopics"`
	Peer          string   `json:"peer"`
}

type publishArgs struct {
	nodeArgs
	PubsubTopic string  `json:"pubsubTopic"`
	Message     message `json:"message"`
	Peer        string  `json:"peer"`
}

type storeArgs struct {
	nodeArgs
	Peer          string   `json:"peer"`
	PubsubTopic   string   `json:"pubsubTopic"`
	ContentTopics []string `json:"contentTopics"`
	TimeStart     *int64   `json:"timeStart"`
	TimeEnd       *int64   `json:"timeEnd"`
	Hashes        []string `json:"hashes"`
	Cursor        string   `json:"cursor"`
	PageSize      uint64   `json:"pageSize"`
	Forward       bool     `json:"forward"`
	IncludeData   *bool    `json:"includeData"`
}

func init() {
	command("relay_subscribe", cmdRelaySubscribe)
	command("relay_publish", cmdRelayPublish)
	command("relay_peers", func(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
		n, err := p.node(a.Node)
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, id := range n.node.Relay().PubSub().ListPeers(a.PubsubTopic) {
			ids = append(ids, id.String())
		}
		return obj{"peers": ids}, nil
	})
	command("store_query", cmdStoreQuery)
	command("legacy_store_query", cmdLegacyStoreQuery)
	command("filter_subscribe", cmdFilterSubscribe)
	command("filter_unsubscribe", cmdFilterUnsubscribe)
	command("filter_ping", cmdFilterPing)
	command("filter_unsubscribe_all", cmdFilterUnsubscribeAll)
	command("lightpush", cmdLightpush)
	command("px_request", cmdPxRequest)
}

// relay_subscribe prints each message the node receives on the topic as a "relay" event.
func cmdRelaySubscribe(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	subs, err := n.node.Relay().Subscribe(p.ctx, protocol.NewContentFilter(a.PubsubTopic, a.ContentTopics...))
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		go p.forward(s.Ch, "relay", n.index)
	}
	return nil, nil
}

func (p *peer) forward(ch <-chan *protocol.Envelope, event string, index int) {
	for {
		select {
		case <-p.ctx.Done():
			return
		case env, ok := <-ch:
			if !ok {
				return
			}
			hash := env.Hash()
			p.out.event(event, obj{
				"node":        index,
				"pubsubTopic": env.PubsubTopic(),
				"hash":        hashHex(hash[:]),
				"message":     messageJSON(env.Message()),
			})
		}
	}
}

func cmdRelayPublish(ctx context.Context, p *peer, a *publishArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	msg, err := a.Message.toProto()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 10))
	defer cancel()
	hash, err := n.node.Relay().Publish(ctx, msg, relay.WithPubSubTopic(a.PubsubTopic))
	if err != nil {
		return nil, err
	}
	return obj{"hash": hashHex(hash[:])}, nil
}

// store_query sends one store v3 request (one page) with go-waku's client and answers the
// page and its cursor; callers page by passing the cursor back.
func cmdStoreQuery(ctx context.Context, p *peer, a *storeArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	var criteria store.Criteria
	if len(a.Hashes) > 0 {
		hc := store.MessageHashCriteria{}
		for _, h := range a.Hashes {
			mh, err := parseHash(h)
			if err != nil {
				return nil, err
			}
			hc.MessageHashes = append(hc.MessageHashes, mh)
		}
		criteria = hc
	} else {
		criteria = store.FilterCriteria{
			ContentFilter: protocol.NewContentFilter(a.PubsubTopic, a.ContentTopics...),
			TimeStart:     a.TimeStart,
			TimeEnd:       a.TimeEnd,
		}
	}
	include := true
	if a.IncludeData != nil {
		include = *a.IncludeData
	}
	opts := []store.RequestOption{
		store.WithPeerAddr(addr),
		store.WithPaging(a.Forward, a.PageSize),
		store.IncludeData(include),
	}
	if a.Cursor != "" {
		cursor, err := parseHash(a.Cursor)
		if err != nil {
			return nil, err
		}
		opts = append(opts, store.WithCursor(cursor[:]))
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	result, err := n.node.Store().Request(ctx, criteria, opts...)
	if err != nil {
		return nil, err
	}
	messages := []obj{}
	for _, kv := range result.Messages() {
		m := obj{"hash": hashHex(kv.MessageHash)}
		if kv.Message != nil {
			m["message"] = messageJSON(kv.Message)
		}
		if kv.PubsubTopic != nil {
			m["pubsubTopic"] = *kv.PubsubTopic
		}
		messages = append(messages, m)
	}
	reply := obj{"messages": messages, "statusCode": result.Response().GetStatusCode()}
	if c := result.Cursor(); c != nil {
		reply["cursor"] = hashHex(c)
	}
	return reply, nil
}

// legacy_store_query sends one /vac/waku/store/2.0.0-beta4 request: go-waku at this version
// serves only that store protocol (its store v3 is a client).
func cmdLegacyStoreQuery(ctx context.Context, p *peer, a *storeArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	q := legacy_store.Query{PubsubTopic: a.PubsubTopic, ContentTopics: a.ContentTopics,
		StartTime: a.TimeStart, EndTime: a.TimeEnd}
	result, err := n.node.LegacyStore().Query(ctx, q,
		legacy_store.WithPeerAddr(addr), legacy_store.WithPaging(a.Forward, a.PageSize))
	if err != nil {
		return nil, err
	}
	messages := []obj{}
	for _, m := range result.Messages {
		h := m.Hash(a.PubsubTopic)
		messages = append(messages, obj{"hash": hashHex(h[:]), "message": messageJSON(m)})
	}
	return obj{"messages": messages}, nil
}

// filter_subscribe subscribes through the filter service at peer; pushes become "filter"
// events.
func cmdFilterSubscribe(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	subs, err := n.node.FilterLightnode().Subscribe(ctx,
		protocol.NewContentFilter(a.PubsubTopic, a.ContentTopics...), filter.WithPeerAddr(addr))
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, s := range subs {
		ids = append(ids, s.ID)
		go p.forward(s.C, "filter", n.index)
	}
	return obj{"subscriptions": ids}, nil
}

func cmdFilterUnsubscribe(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	id, err := peerIDOf(a.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	result, err := n.node.FilterLightnode().Unsubscribe(ctx,
		protocol.NewContentFilter(a.PubsubTopic, a.ContentTopics...), filter.WithPeer(id))
	if err != nil {
		return nil, err
	}
	// go-waku lists every peer it asked, with a nil error where the peer agreed.
	for _, e := range result.Errors() {
		if e.Err != nil {
			return nil, fmt.Errorf("unsubscribe at %s: %w", e.PeerID, e.Err)
		}
	}
	return nil, nil
}

// filter_ping sends a subscriber ping to the filter service at peer (as go-waku's light node
// does periodically to check its subscriptions are alive).
func cmdFilterPing(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	id, err := peerIDOf(a.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	if err := n.node.FilterLightnode().Ping(ctx, id); err != nil {
		return nil, err
	}
	return nil, nil
}

func cmdFilterUnsubscribeAll(ctx context.Context, p *peer, a *topicArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	id, err := peerIDOf(a.Peer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	result, err := n.node.FilterLightnode().UnsubscribeAll(ctx, filter.WithPeer(id))
	if err != nil {
		return nil, err
	}
	for _, e := range result.Errors() {
		if e.Err != nil {
			return nil, fmt.Errorf("unsubscribe all at %s: %w", e.PeerID, e.Err)
		}
	}
	return nil, nil
}

// lightpush pushes through the light push service at peer (/vac/waku/lightpush/2.0.0-beta1,
// the only light push go-waku has at this version).
func cmdLightpush(ctx context.Context, p *peer, a *publishArgs) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	msg, err := a.Message.toProto()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, seconds(a.Timeout, 20))
	defer cancel()
	hash, err := n.node.Lightpush().Publish(ctx, msg,
		lightpush.WithPubSubTopic(a.PubsubTopic), lightpush.WithPeerAddr(addr))
	if err != nil {
		return nil, err
	}
	return obj{"hash": hashHex(hash[:])}, nil
}

// px_request asks the peer exchange server at peer for records; go-waku adds what it learns
// to its peer store (see "peers"), so the reply only says whether the exchange worked.
func cmdPxRequest(ctx context.Context, p *peer, a *struct {
	nodeArgs
	Peer     string `json:"peer"`
	NumPeers int    `json:"numPeers"`
}) (obj, error) {
	n, err := p.node(a.Node)
	if err != nil {
		return nil, err
	}
	addr, err := multiaddr.NewMultiaddr(a.Peer)
	if err != nil {
		return nil, err
	}
	// go-waku hands the records it receives to its peer connector under the request's
	// context, after Request returns: cancelling that context at once would drop them. So
	// the context lives on (bounded by the timeout) beyond this command.
	ctx, cancel := context.WithTimeout(p.ctx, seconds(a.Timeout, 20))
	time.AfterFunc(seconds(a.Timeout, 20), cancel)
	if err := n.node.PeerExchange().Request(ctx, a.NumPeers, peer_exchange.WithPeerAddr(addr)); err != nil {
		return nil, err
	}
	return nil, nil
}

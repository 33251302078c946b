package main

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"unsafe"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// bandwidthCounter is the libp2p BandwidthCounter wakuv2 hands its host as BandwidthReporter
// (wakuv2/waku.go) and pushes to Status telemetry. wakuv2 keeps it in an unexported field and
// exports only rates (GetStats), so it is read by reflection: this is a test program, and the
// counter is status-go's own, not one we wire up beside it.
func (p *peer) bandwidthCounter() (*metrics.BandwidthCounter, error) {
	if p.waku == nil {
		return nil, errors.New("waku is not running")
	}
	field := reflect.ValueOf(p.waku).Elem().FieldByName("bandwidthCounter")
	if !field.IsValid() || field.Type() != reflect.TypeOf((*metrics.BandwidthCounter)(nil)) {
		return nil, errors.New("wakuv2.Waku has no bandwidthCounter of the expected type")
	}
	counter := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().Interface()
	bwc, _ := counter.(*metrics.BandwidthCounter)
	if bwc == nil {
		return nil, errors.New("wakuv2's bandwidth counter is not set")
	}
	return bwc, nil
}

// cmdBandwidth reports libp2p's stream byte counts by protocol id since start. libp2p counts
// what streams carry (multistream negotiation included, under the protocol the stream had at
// the time, often ""), not Noise or muxer framing. Its totals are folded in by a one-second
// sweeper, so they lag by up to a second.
func (p *peer) cmdBandwidth(_ context.Context, _ cmdArgs) (obj, error) {
	bwc, err := p.bandwidthCounter()
	if err != nil {
		return nil, err
	}
	byProtocol := bwc.GetBandwidthByProtocol()
	names := make([]string, 0, len(byProtocol))
	for name := range byProtocol {
		names = append(names, string(name))
	}
	sort.Strings(names)
	protocols := make([]obj, 0, len(names))
	for _, name := range names {
		stats := byProtocol[protocol.ID(name)]
		protocols = append(protocols, obj{"protocol": name, "in": stats.TotalIn, "out": stats.TotalOut})
	}
	totals := bwc.GetBandwidthTotals()
	return obj{"protocols": protocols, "totalIn": totals.TotalIn, "totalOut": totals.TotalOut}, nil
}

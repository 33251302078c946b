//go:build pystatus_crosscheck

// Checks tests/vectors/statusgo/segmentation.json against status-go's own code: dropped into a
// copy of status-go v1.1.0's protocol/common by crosscheck.sh, never built otherwise.
package common

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"go.uber.org/zap"

	"github.com/status-im/status-go/appdatabase"
	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/protocol/sqlite"
	v1protocol "github.com/status-im/status-go/protocol/v1"
	"github.com/status-im/status-go/t/helpers"
)

type pystatusSplit struct {
	Name        string   `json:"name"`
	SegmentSize int      `json:"segment_size"`
	Payload     string   `json:"payload"`
	Segments    []string `json:"segments"`
}

func pystatusVectors(t *testing.T) []pystatusSplit {
	raw, err := os.ReadFile(os.Getenv("PYSTATUS_SEGMENTATION_VECTORS"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Split []pystatusSplit `json:"split"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Split
}

// The vectors' segments are what status-go's segmentMessage sends.
func TestPystatusSplitVectors(t *testing.T) {
	for _, v := range pystatusVectors(t) {
		payload, _ := hex.DecodeString(v.Payload)
		messages, err := segmentMessage(&types.NewMessage{Payload: payload}, v.SegmentSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(messages) != len(v.Segments) {
			t.Fatalf("%s: %d segments, the vector has %d", v.Name, len(messages), len(v.Segments))
		}
		for i, m := range messages {
			if hex.EncodeToString(m.Payload) != v.Segments[i] {
				t.Fatalf("%s: segment %d differs", v.Name, i)
			}
		}
		t.Logf("%s: %d segments match", v.Name, len(messages))
	}
}

// Which single lost segment handleSegmentationLayerV2 recovers from, for the vectors with parity.
func TestPystatusLoseOneSegment(t *testing.T) {
	for _, v := range pystatusVectors(t) {
		if len(v.Segments) < 9 || len(v.Segments) > 30 || v.Name == "seven_segments_no_parity" {
			continue
		}
		for drop := range v.Segments {
			identity, _ := crypto.GenerateKey()
			database, err := helpers.SetupTestMemorySQLDB(appdatabase.DbInitializer{})
			if err != nil {
				t.Fatal(err)
			}
			if err := sqlite.Migrate(database); err != nil {
				t.Fatal(err)
			}
			sender, err := NewMessageSender(identity, database, nil, nil, zap.NewNop(), FeatureFlags{})
			if err != nil {
				t.Fatal(err)
			}
			result := "incomplete"
			for i, s := range v.Segments {
				if i == drop {
					continue
				}
				p, _ := hex.DecodeString(s)
				message := &v1protocol.StatusMessage{TransportLayer: v1protocol.TransportLayer{
					SigPubKey: &identity.PublicKey, Payload: p,
				}}
				err := sender.handleSegmentationLayerV2(message)
				if err == nil {
					result = "wrong payload"
					if hex.EncodeToString(message.TransportLayer.Payload) == v.Payload {
						result = "complete"
					}
					break
				}
				if err != ErrMessageSegmentsIncomplete {
					result = err.Error()
					break
				}
			}
			t.Logf("%s, segment %d lost: %s", v.Name, drop, result)
		}
	}
}

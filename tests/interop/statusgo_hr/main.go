// statusgo-hr drives status-go v1.1.0's protocol/encryption package directly (no messenger, no
// network) so pystatus's hash ratchet can be checked against it: group keys, hash ratchet
// messages both ways, key exchange over a real Double Ratchet session with a pystatus bundle,
// the public rekey message, and a timing loop for the bench.
//
// It speaks JSON lines (tests/interop/json_lines.py): one {"event":"ready"} line with its
// identity, then {"id":n,"cmd":...} in and {"id":n,"ok":...} out. Byte strings are hex.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/status-im/status-go/appdatabase"
	"github.com/status-im/status-go/common/dbsetup"
	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/protocol/encryption"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/sqlite"
	v1protocol "github.com/status-im/status-go/protocol/v1"
)

type obj = map[string]any

type peer struct {
	identity *ecdsa.PrivateKey
	protocol *encryption.Protocol
	// second is a status-go peer of its own for the bench, opened on its first run.
	second   *ecdsa.PrivateKey
	secondP  *encryption.Protocol
	dir      string
	messages int
}

func openProtocol(dir, name, installationID string) (*encryption.Protocol, error) {
	db, err := appdatabase.InitializeDB(filepath.Join(dir, name+".db"), "statusgo-hr", dbsetup.ReducedKDFIterationsNumber)
	if err != nil {
		return nil, err
	}
	if err := sqlite.Migrate(db); err != nil {
		return nil, err
	}
	return encryption.New(db, installationID, zap.NewNop()), nil
}

func unhex(args obj, name string) ([]byte, error) {
	s, ok := args[name].(string)
	if !ok {
		return nil, fmt.Errorf("%s: want a hex string", name)
	}
	return hex.DecodeString(s)
}

// groupAndPayload reads the group id and the payload (both hex) that the commands sealing a
// group message take.
func groupAndPayload(args obj) (group, payload []byte, err error) {
	if group, err = unhex(args, "group_id"); err != nil {
		return nil, nil, err
	}
	if payload, err = unhex(args, "payload"); err != nil {
		return nil, nil, err
	}
	return group, payload, nil
}

// unmarshalHex decodes args[name], hex-encoded protobuf, into m.
func unmarshalHex(args obj, name string, m proto.Message) error {
	raw, err := unhex(args, name)
	if err != nil {
		return err
	}
	return proto.Unmarshal(raw, m)
}

func pubkey(args obj, name string) (*ecdsa.PublicKey, error) {
	b, err := unhex(args, name)
	if err != nil {
		return nil, err
	}
	if len(b) == 33 {
		return crypto.DecompressPubkey(b)
	}
	return crypto.UnmarshalPubkey(b)
}

func marshalHex(m proto.Message) (string, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func keysJSON(keys []*encryption.HashRatchetKeyCompatibility) ([]obj, error) {
	out := []obj{}
	for _, k := range keys {
		id, err := k.GetKeyID()
		if err != nil {
			return nil, err
		}
		out = append(out, obj{"key": hex.EncodeToString(k.Key), "timestamp": k.Timestamp, "key_id": hex.EncodeToString(id)})
	}
	return out, nil
}

func (p *peer) nextMessageID() []byte {
	p.messages++
	return []byte(fmt.Sprintf("statusgo-hr-%d", p.messages))
}

// groupKeys answers with every key the protocol holds for group (GetKeysForGroup).
func (p *peer) groupKeys(group []byte) (obj, error) {
	keys, err := p.protocol.GetKeysForGroup(group)
	if err != nil {
		return nil, err
	}
	js, err := keysJSON(keys)
	return obj{"keys": js}, err
}

func (p *peer) handle(cmd string, args obj) (obj, error) {
	switch cmd {
	case "new_key":
		// A new group key, as a control node makes one (GenerateHashRatchetKey).
		group, err := unhex(args, "group_id")
		if err != nil {
			return nil, err
		}
		if _, err := p.protocol.GenerateHashRatchetKey(group); err != nil {
			return nil, err
		}
		return p.groupKeys(group)
	case "keys":
		group, err := unhex(args, "group_id")
		if err != nil {
			return nil, err
		}
		return p.groupKeys(group)
	case "add_key":
		group, err := unhex(args, "group_id")
		if err != nil {
			return nil, err
		}
		key, err := unhex(args, "key")
		if err != nil {
			return nil, err
		}
		ts, _ := args["timestamp"].(float64)
		hrKeys := &encryption.HRKeys{Keys: []*encryption.HRKey{{Key: key, Timestamp: uint64(ts)}}}
		info, err := p.protocol.HandleHashRatchetKeys(group, hrKeys, nil, nil)
		if err != nil {
			return nil, err
		}
		return obj{"key_id": hex.EncodeToString(info[0].KeyID)}, nil
	case "encrypt":
		// A group message (BuildHashRatchetMessage), the ProtocolMessage status-go publishes.
		group, payload, err := groupAndPayload(args)
		if err != nil {
			return nil, err
		}
		spec, err := p.protocol.BuildHashRatchetMessage(group, payload)
		if err != nil {
			return nil, err
		}
		m, err := marshalHex(spec.Message)
		return obj{"message": m}, err
	case "handle":
		// Any ProtocolMessage from sender, as status-go's HandleMessage reads it.
		sender, err := pubkey(args, "sender")
		if err != nil {
			return nil, err
		}
		var pm encryption.ProtocolMessage
		if err := unmarshalHex(args, "message", &pm); err != nil {
			return nil, err
		}
		resp, err := p.protocol.HandleMessage(p.identity, sender, &pm, p.nextMessageID())
		if err != nil {
			return nil, err
		}
		infos := []obj{}
		for _, i := range resp.HashRatchetInfo {
			infos = append(infos, obj{"group_id": hex.EncodeToString(i.GroupID), "key_id": hex.EncodeToString(i.KeyID)})
		}
		return obj{"payload": hex.EncodeToString(resp.DecryptedMessage), "hash_ratchet": infos}, nil
	case "bundle":
		b, err := p.protocol.GetBundle(p.identity)
		if err != nil {
			return nil, err
		}
		m, err := marshalHex(b)
		return obj{"bundle": m}, err
	case "add_bundle":
		var b encryption.Bundle
		if err := unmarshalHex(args, "bundle", &b); err != nil {
			return nil, err
		}
		_, err := p.protocol.ProcessPublicBundle(p.identity, &b)
		return obj{}, err
	case "key_exchange":
		// The 1:1 messages a control node sends members (GetKeyExMessageSpecs): the group's
		// keys over the Double Ratchet, or a new key when rekey is set.
		group, err := unhex(args, "group_id")
		if err != nil {
			return nil, err
		}
		recipient, err := pubkey(args, "recipient")
		if err != nil {
			return nil, err
		}
		rekey, _ := args["rekey"].(bool)
		specs, err := p.protocol.GetKeyExMessageSpecs(group, p.identity, []*ecdsa.PublicKey{recipient}, rekey)
		if err != nil {
			return nil, err
		}
		m, err := marshalHex(specs[0].Message)
		return obj{"message": m}, err
	case "rekey_group":
		// The public rekey message (BuildHashRatchetReKeyGroupMessage) with the current key.
		group, payload, err := groupAndPayload(args)
		if err != nil {
			return nil, err
		}
		list, _ := args["recipients"].([]any)
		recipients := []*ecdsa.PublicKey{}
		for _, r := range list {
			k, err := pubkey(obj{"k": r}, "k")
			if err != nil {
				return nil, err
			}
			recipients = append(recipients, k)
		}
		current, err := p.protocol.GetCurrentKeyForGroup(group)
		if err != nil {
			return nil, err
		}
		spec, err := p.protocol.BuildHashRatchetReKeyGroupMessage(p.identity, recipients, group, payload, current)
		if err != nil {
			return nil, err
		}
		m, err := marshalHex(spec.Message)
		return obj{"message": m}, err
	case "seal":
		// A header-less sealed payload (EncryptWithHashRatchet), as a community description's
		// private data is sealed; named as its private_data entry is.
		group, payload, err := groupAndPayload(args)
		if err != nil {
			return nil, err
		}
		sealed, ratchet, seqNo, err := p.protocol.EncryptWithHashRatchet(group, payload)
		if err != nil {
			return nil, err
		}
		keyID, err := ratchet.GetKeyID()
		if err != nil {
			return nil, err
		}
		return obj{"data": hex.EncodeToString(sealed), "seq_no": seqNo, "name": fmt.Sprintf("%s%d", hex.EncodeToString(keyID), seqNo)}, nil
	case "open":
		keyID, err := unhex(args, "key_id")
		if err != nil {
			return nil, err
		}
		data, err := unhex(args, "data")
		if err != nil {
			return nil, err
		}
		seqNo, _ := args["seq_no"].(float64)
		plain, err := p.protocol.DecryptWithHashRatchet(keyID, uint32(seqNo), data)
		if err != nil {
			return nil, err
		}
		return obj{"payload": hex.EncodeToString(plain)}, nil
	case "receive_post":
		return p.receivePost(args)
	case "send_post":
		return p.sendPost(args)
	case "bench":
		return p.bench(args)
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// receivePost reads a community post as status-go's messenger reads one that arrived on a
// channel's topic, once the Waku envelope is open: StatusMessage's encryption layer
// (HandleMessage: the hash ratchet), then its application layer (the wrapper's signer and
// type), then the ChatMessage inside.
func (p *peer) receivePost(args obj) (obj, error) {
	sender, err := pubkey(args, "sender")
	if err != nil {
		return nil, err
	}
	payload, err := unhex(args, "message")
	if err != nil {
		return nil, err
	}
	m := &v1protocol.StatusMessage{}
	envelope := &types.Message{Sig: crypto.FromECDSAPub(sender), Payload: payload, Hash: p.nextMessageID()}
	if err := m.HandleTransportLayer(envelope); err != nil {
		return nil, err
	}
	if err := m.HandleEncryptionLayer(p.identity, sender, p.protocol, false); err != nil {
		return nil, err
	}
	if err := m.HandleApplicationLayer(); err != nil {
		return nil, err
	}
	var chat protobuf.ChatMessage
	if err := proto.Unmarshal(m.ApplicationLayer.Payload, &chat); err != nil {
		return nil, err
	}
	return obj{
		"type":         int(m.ApplicationLayer.Type),
		"author":       hex.EncodeToString(crypto.FromECDSAPub(m.ApplicationLayer.SigPubKey)),
		"message_id":   hex.EncodeToString(m.ApplicationLayer.ID),
		"chat_id":      chat.ChatId,
		"text":         chat.Text,
		"message_type": int(chat.MessageType),
	}, nil
}

// sendPost makes a community post as status-go's messenger sends one in an encrypted
// community: a ChatMessage of type COMMUNITY_CHAT, wrapped and signed (WrapMessageV1), under
// the group's hash ratchet key (BuildHashRatchetMessage, as sendCommunity does).
func (p *peer) sendPost(args obj) (obj, error) {
	group, err := unhex(args, "group_id")
	if err != nil {
		return nil, err
	}
	chatID, _ := args["chat_id"].(string)
	text, _ := args["text"].(string)
	now := uint64(time.Now().UnixMilli())
	chat := &protobuf.ChatMessage{
		Clock:       now,
		Timestamp:   now,
		Text:        text,
		ChatId:      chatID,
		MessageType: protobuf.MessageType_COMMUNITY_CHAT,
		ContentType: protobuf.ChatMessage_TEXT_PLAIN,
	}
	payload, err := proto.Marshal(chat)
	if err != nil {
		return nil, err
	}
	wrapped, err := v1protocol.WrapMessageV1(payload, protobuf.ApplicationMetadataMessage_CHAT_MESSAGE, p.identity)
	if err != nil {
		return nil, err
	}
	spec, err := p.protocol.BuildHashRatchetMessage(group, wrapped)
	if err != nil {
		return nil, err
	}
	m, err := marshalHex(spec.Message)
	return obj{"message": m}, err
}

// bench times status-go's own hash ratchet (EncryptWithHashRatchet + DecryptWithHashRatchet,
// through its SQLite persistence as the app runs it) and Double Ratchet (BuildEncryptedMessage
// + HandleMessage between two status-go peers), per message, with the ProtocolMessage sizes.
func (p *peer) bench(args obj) (obj, error) {
	if p.secondP == nil {
		var err error
		if p.second, err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
		if p.secondP, err = openProtocol(p.dir, "second", "statusgo-hr-2"); err != nil {
			return nil, err
		}
	}
	count, _ := args["count"].(float64)
	size, _ := args["size"].(float64)
	n := int(count)
	payload := make([]byte, int(size))
	group := []byte("statusgo-hr bench group")
	if _, err := p.protocol.GenerateHashRatchetKey(group); err != nil {
		return nil, err
	}
	hrBytes := 0
	// The receiver holds the key from the start, so every message is read.
	keys, _ := p.protocol.GetKeysForGroup(group)
	if _, err := p.secondP.HandleHashRatchetKeys(group, p.protocol.GetHRKeys(keys), nil, nil); err != nil {
		return nil, err
	}
	var hrEnc, hrDec time.Duration
	hrDecEach := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		spec, err := p.protocol.BuildHashRatchetMessage(group, payload)
		if err != nil {
			return nil, err
		}
		raw, _ := proto.Marshal(spec.Message)
		t1 := time.Now()
		var pm encryption.ProtocolMessage
		_ = proto.Unmarshal(raw, &pm)
		resp, err := p.secondP.HandleMessage(p.second, &p.identity.PublicKey, &pm, p.nextMessageID())
		if err != nil {
			return nil, err
		}
		hrEnc += t1.Sub(t0)
		hrDec += time.Since(t1)
		hrDecEach = append(hrDecEach, float64(time.Since(t1).Nanoseconds())/1000)
		hrBytes = len(raw)
		if len(resp.DecryptedMessage) != len(payload) {
			return nil, errors.New("hash ratchet bench: wrong plaintext")
		}
	}
	// Double Ratchet: bundles both ways, then one direction, as the hash ratchet runs.
	b1, _ := p.protocol.GetBundle(p.identity)
	b2, _ := p.secondP.GetBundle(p.second)
	if _, err := p.secondP.ProcessPublicBundle(p.second, b1); err != nil {
		return nil, err
	}
	if _, err := p.protocol.ProcessPublicBundle(p.identity, b2); err != nil {
		return nil, err
	}
	drBytes := 0
	var drEnc, drDec time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		spec, err := p.protocol.BuildEncryptedMessage(p.identity, &p.second.PublicKey, payload)
		if err != nil {
			return nil, err
		}
		spec.Message.Bundles = nil // sizes compare the encryption, not the attached bundle
		raw, _ := proto.Marshal(spec.Message)
		t1 := time.Now()
		drBytes = len(raw)
		var pm encryption.ProtocolMessage
		_ = proto.Unmarshal(raw, &pm)
		id := p.nextMessageID()
		resp, err := p.secondP.HandleMessage(p.second, &p.identity.PublicKey, &pm, id)
		if err != nil {
			return nil, err
		}
		if err := p.secondP.ConfirmMessageProcessed(id); err != nil {
			return nil, err
		}
		drEnc += t1.Sub(t0)
		drDec += time.Since(t1)
		if len(resp.DecryptedMessage) != len(payload) {
			return nil, errors.New("double ratchet bench: wrong plaintext")
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 / float64(n) }
	return obj{
		"hr_encrypt_us":    per(hrEnc),
		"hr_decrypt_us":    per(hrDec),
		"dr_encrypt_us":    per(drEnc),
		"dr_decrypt_us":    per(drDec),
		"hr_message_bytes": hrBytes,
		// status-go's receiver walks the chain from the key for every message it has no
		// exact cache row for, storing each step: the cost grows with seq_no.
		"hr_decrypt_us_each": hrDecEach,
		"dr_message_bytes":   drBytes,
	}, nil
}

func main() {
	out := json.NewEncoder(os.Stdout)
	fail := func(err error) {
		_ = out.Encode(obj{"event": "error", "error": err.Error()})
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "statusgo-hr-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	p := &peer{dir: dir}
	if p.identity, err = crypto.GenerateKey(); err != nil {
		fail(err)
	}
	if p.protocol, err = openProtocol(dir, "first", "statusgo-hr-1"); err != nil {
		fail(err)
	}
	_ = out.Encode(obj{
		"event":           "ready",
		"public_key":      hex.EncodeToString(crypto.FromECDSAPub(&p.identity.PublicKey)),
		"installation_id": "statusgo-hr-1",
	})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var req obj
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fail(err)
		}
		cmd, _ := req["cmd"].(string)
		if cmd == "stop" {
			_ = out.Encode(obj{"id": req["id"], "ok": true})
			return
		}
		result, err := p.handle(cmd, req)
		if err != nil {
			_ = out.Encode(obj{"id": req["id"], "ok": false, "error": err.Error()})
			continue
		}
		result["id"] = req["id"]
		result["ok"] = true
		_ = out.Encode(result)
	}
}

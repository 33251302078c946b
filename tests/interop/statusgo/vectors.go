package main

// `statusgo-peer vectors` computes known-answer vectors with status-go v1.1.0's own functions
// for fixed keys, so pystatus can check its implementation against them without Go.

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	dr "github.com/status-im/doubleratchet"
	mvdsproto "github.com/status-im/mvds/protobuf"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/status-im/status-go/appdatabase"
	"github.com/status-im/status-go/common/dbsetup"
	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/eth-node/crypto/ecies"
	"github.com/status-im/status-go/protocol/common/shard"
	"github.com/status-im/status-go/protocol/datasync"
	"github.com/status-im/status-go/protocol/encryption"
	"github.com/status-im/status-go/protocol/encryption/sharedsecret"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/sqlite"
	"github.com/status-im/status-go/protocol/transport"
	v1protocol "github.com/status-im/status-go/protocol/v1"
	"github.com/status-im/status-go/wakuv2"
	wakucommon "github.com/status-im/status-go/wakuv2/common"
)

const vectorsCommand = "make statusgo && tests/interop/statusgo/bin/statusgo-peer vectors --out tests/vectors/statusgo"

const vectorsGenerator = "tests/interop/statusgo/vectors.go (status-go v1.1.0 as a library)"

// Fixed inputs. Private keys are keccak256("pystatus statusgo vectors: <label>").
const (
	vectorInstallationID = "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	vectorClock          = uint64(1700000000000)
	vectorBundleTime     = int64(1700000000123456789)
	vectorMVDSTime       = int64(1700000000)
)

func fixedKey(label string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("pystatus statusgo vectors: " + label)))
	if err != nil {
		panic(err)
	}
	return k
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func keyJSON(label string, k *ecdsa.PrivateKey) obj {
	return obj{
		"label":      label,
		"private":    hx(crypto.FromECDSA(k)),
		"public":     hx(crypto.FromECDSAPub(&k.PublicKey)),
		"compressed": hx(crypto.CompressPubkey(&k.PublicKey)),
	}
}

func marshal(m proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

type vectorKeys struct {
	alice, bob, bobSignedPreKey, aliceEphemeral, aliceRatchet, aliceRatchet2, bobRatchet *ecdsa.PrivateKey
}

func newVectorKeys() vectorKeys {
	return vectorKeys{
		alice:           fixedKey("alice identity"),
		bob:             fixedKey("bob identity"),
		bobSignedPreKey: fixedKey("bob signed pre key"),
		aliceEphemeral:  fixedKey("alice x3dh ephemeral"),
		aliceRatchet:    fixedKey("alice first ratchet key"),
		aliceRatchet2:   fixedKey("alice second ratchet key"),
		bobRatchet:      fixedKey("bob first ratchet key"),
	}
}

func (k vectorKeys) json(which ...string) []obj {
	all := map[string]*ecdsa.PrivateKey{
		"alice identity":           k.alice,
		"bob identity":             k.bob,
		"bob signed pre key":       k.bobSignedPreKey,
		"alice x3dh ephemeral":     k.aliceEphemeral,
		"alice first ratchet key":  k.aliceRatchet,
		"alice second ratchet key": k.aliceRatchet2,
		"bob first ratchet key":    k.bobRatchet,
	}
	var out []obj
	for _, label := range which {
		out = append(out, keyJSON(label, all[label]))
	}
	return out
}

func header(source string) obj {
	return obj{
		"command":   vectorsCommand,
		"generator": vectorsGenerator,
		"source":    source,
		"keys_note": "private keys are keccak256(\"pystatus statusgo vectors: \" + label); hex without 0x",
	}
}

func runVectors(args []string) error {
	fs := flag.NewFlagSet("statusgo-peer vectors", flag.ContinueOnError)
	out := fs.String("out", "", "write one <name>.json per group into this directory (default: all on stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys := newVectorKeys()
	tmp, err := os.MkdirTemp("", "statusgo-vectors-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	wrapped, groups, err := applicationMetadataVectors(keys)
	if err != nil {
		return fmt.Errorf("application metadata: %w", err)
	}
	files := map[string]obj{"application_metadata.json": groups}
	if files["x3dh.json"], err = x3dhVectors(keys); err != nil {
		return fmt.Errorf("x3dh: %w", err)
	}
	if files["double_ratchet.json"], err = doubleRatchetVectors(keys); err != nil {
		return fmt.Errorf("double ratchet: %w", err)
	}
	if files["topics.json"], err = topicVectors(keys, tmp); err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	if files["mvds.json"], err = mvdsVectors(keys, wrapped); err != nil {
		return fmt.Errorf("mvds: %w", err)
	}
	if files["membership.json"], err = membershipVectors(keys); err != nil {
		return fmt.Errorf("membership: %w", err)
	}

	if *out == "" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", " ")
		return enc.Encode(files)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := json.MarshalIndent(files[name], "", " ")
		if err != nil {
			return err
		}
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "wrote", path)
	}
	return nil
}

// applicationMetadataVectors: the signed wrapper every Status payload travels in, and the
// message id derived from it (v1protocol.WrapMessageV1, v1protocol.MessageID).
func applicationMetadataVectors(k vectorKeys) ([]byte, obj, error) {
	bobHex := "0x" + hx(crypto.FromECDSAPub(&k.bob.PublicKey))
	chat := &protobuf.ChatMessage{
		Clock:       vectorClock,
		Timestamp:   vectorClock,
		Text:        "hello from status-go",
		ChatId:      bobHex,
		MessageType: protobuf.MessageType_ONE_TO_ONE,
		ContentType: protobuf.ChatMessage_TEXT_PLAIN,
	}
	reply := &protobuf.ChatMessage{
		Clock:       vectorClock + 1,
		Timestamp:   vectorClock + 1,
		Text:        "a reply",
		ResponseTo:  "0x" + hx(crypto.Keccak256([]byte("some message"))),
		ChatId:      bobHex,
		MessageType: protobuf.MessageType_ONE_TO_ONE,
		ContentType: protobuf.ChatMessage_TEXT_PLAIN,
	}
	reaction := &protobuf.EmojiReaction{
		Clock:       vectorClock + 2,
		ChatId:      bobHex,
		MessageId:   "0x" + hx(crypto.Keccak256([]byte("some message"))),
		MessageType: protobuf.MessageType_ONE_TO_ONE,
		Type:        protobuf.EmojiReaction_THUMBS_UP,
	}
	accept := &protobuf.AcceptContactRequest{
		Id:    "0x" + hx(crypto.Keccak256([]byte("a contact request"))),
		Clock: vectorClock + 3,
	}
	cases := []struct {
		name    string
		typ     protobuf.ApplicationMetadataMessage_Type
		payload proto.Message
	}{
		{"chat_message_text", protobuf.ApplicationMetadataMessage_CHAT_MESSAGE, chat},
		{"chat_message_reply", protobuf.ApplicationMetadataMessage_CHAT_MESSAGE, reply},
		{"emoji_reaction", protobuf.ApplicationMetadataMessage_EMOJI_REACTION, reaction},
		{"accept_contact_request", protobuf.ApplicationMetadataMessage_ACCEPT_CONTACT_REQUEST, accept},
	}
	var list []obj
	var first []byte
	for _, c := range cases {
		payload := marshal(c.payload)
		wrapped, err := v1protocol.WrapMessageV1(payload, c.typ, k.alice)
		if err != nil {
			return nil, nil, err
		}
		var parsed protobuf.ApplicationMetadataMessage
		if err := proto.Unmarshal(wrapped, &parsed); err != nil {
			return nil, nil, err
		}
		signer, err := crypto.SigToPub(crypto.Keccak256(payload), parsed.Signature)
		if err != nil {
			return nil, nil, err
		}
		if !signer.Equal(&k.alice.PublicKey) {
			return nil, nil, errors.New("wrapper signature does not recover the signer")
		}
		if first == nil {
			first = wrapped
		}
		fields, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(c.payload)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, obj{
			"name":          c.name,
			"type":          c.typ.String(),
			"type_id":       int32(c.typ),
			"payload_json":  json.RawMessage(fields),
			"payload":       hx(payload),
			"signature":     hx(parsed.Signature),
			"wrapped":       hx(wrapped),
			"message_id":    v1protocol.MessageID(&k.alice.PublicKey, wrapped).String(),
			"signer_public": hx(crypto.FromECDSAPub(signer)),
		})
	}
	out := header("status-go v1.1.0: protocol/v1.WrapMessageV1 (signature = secp256k1 recoverable signature of keccak256(payload), 65 bytes r||s||v with v in {0,1}), protocol/v1.MessageID = keccak256(uncompressed signer key || wrapped)")
	out["signer"] = k.json("alice identity")
	out["cases"] = list
	return first, out, nil
}

// x3dhVectors: a signed bundle (status-go's structure from NewBundleContainer, our fixed signed
// pre key and timestamp, signature checked by encryption.ExtractIdentity) and the X3DH secret.
func x3dhVectors(k vectorKeys) (obj, error) {
	container, err := encryption.NewBundleContainer(k.bob, vectorInstallationID)
	if err != nil {
		return nil, err
	}
	bundle := container.GetBundle()
	spk := bundle.SignedPreKeys[vectorInstallationID]
	spk.SignedPreKey = crypto.CompressPubkey(&k.bobSignedPreKey.PublicKey)
	bundle.Timestamp = vectorBundleTime
	// encryption.SignBundle stamps the current time, so the fixed-time bundle is signed here over
	// the material status-go signs; that this is its material is checked twice below.
	material := bundleMaterial(spk.SignedPreKey, spk.Version, bundle.Timestamp)
	sig, err := crypto.Sign(crypto.Keccak256(material), k.bob)
	if err != nil {
		return nil, err
	}
	bundle.Signature = sig
	identity, err := encryption.ExtractIdentity(bundle)
	if err != nil {
		return nil, fmt.Errorf("status-go rejects the bundle: %w", err)
	}
	if !identity.Equal(&k.bob.PublicKey) {
		return nil, errors.New("bundle identity mismatch")
	}
	// SignBundle's own signature (deterministic, RFC 6979) over its own timestamp is the one
	// our material gives for that timestamp.
	live, err := encryption.NewBundleContainer(k.bob, vectorInstallationID)
	if err != nil {
		return nil, err
	}
	liveSPK := live.GetBundle().SignedPreKeys[vectorInstallationID]
	liveSPK.SignedPreKey = spk.SignedPreKey
	if err := encryption.SignBundle(k.bob, live); err != nil {
		return nil, err
	}
	again, err := crypto.Sign(crypto.Keccak256(bundleMaterial(liveSPK.SignedPreKey, liveSPK.Version, live.GetBundle().Timestamp)), k.bob)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, live.GetBundle().Signature) {
		return nil, errors.New("SignBundle signs other material than ours")
	}

	secret, err := encryption.PerformPassiveX3DH(&k.alice.PublicKey, k.bobSignedPreKey, &k.aliceEphemeral.PublicKey, k.bob)
	if err != nil {
		return nil, err
	}
	dhKey, err := encryption.PerformDH(ecies.ImportECDSA(k.aliceEphemeral), ecies.ImportECDSAPublic(&k.bob.PublicKey))
	if err != nil {
		return nil, err
	}
	out := header("status-go v1.1.0: protocol/encryption.NewBundleContainer, SignBundle, ExtractIdentity, PerformPassiveX3DH, PerformDH")
	out["keys"] = k.json("alice identity", "bob identity", "bob signed pre key", "alice x3dh ephemeral")
	out["bundle"] = obj{
		"installation_id":           vectorInstallationID,
		"identity":                  hx(bundle.Identity),
		"signed_pre_key":            hx(spk.SignedPreKey),
		"version":                   spk.Version,
		"protocol_version":          spk.ProtocolVersion,
		"timestamp":                 bundle.Timestamp,
		"signature_material":        hx(material),
		"signature":                 hx(bundle.Signature),
		"serialized":                hx(marshal(bundle)),
		"verified_by":               "encryption.ExtractIdentity recovers bob identity",
		"signature_material_layout": "installation id || compressed signed pre key || decimal version, per installation in id order, then decimal timestamp when not 0",
	}
	out["x3dh"] = obj{
		"initiator_identity":  "alice identity",
		"initiator_ephemeral": "alice x3dh ephemeral",
		"responder_identity":  "bob identity",
		"responder_spk":       "bob signed pre key",
		"shared_secret":       hx(secret),
		"formula":             "keccak256(DH(IKa, SPKb) || DH(EKa, IKb) || DH(EKa, SPKb)), each DH the 32-byte ECIES shared x coordinate (secp256k1)",
	}
	out["dh_header_key"] = obj{
		"note":      "the key of a message sent without the recipient's bundle (DH header): ECDH of the sender's ephemeral key and the recipient's identity key",
		"ephemeral": "alice x3dh ephemeral",
		"recipient": "bob identity",
		"key":       hx(dhKey),
	}
	return out, nil
}

// bundleMaterial is what a one-installation bundle's signature covers.
func bundleMaterial(signedPreKey []byte, version uint32, timestamp int64) []byte {
	material := []byte(vectorInstallationID)
	material = append(material, signedPreKey...)
	material = append(material, []byte(fmt.Sprint(version))...)
	if timestamp != 0 {
		material = append(material, []byte(fmt.Sprint(timestamp))...)
	}
	return material
}

// fixedRatchet is status-go's EthereumCrypto with the ratchet key pairs it generates fixed.
type fixedRatchet struct {
	crypto.EthereumCrypto
	next []*ecdsa.PrivateKey
}

func (f *fixedRatchet) GenerateDH() (dr.DHPair, error) {
	if len(f.next) == 0 {
		return nil, errors.New("no fixed ratchet key left")
	}
	k := f.next[0]
	f.next = f.next[1:]
	return crypto.DHPair{PrvKey: crypto.FromECDSA(k), PubKey: crypto.CompressPubkey(&k.PublicKey)}, nil
}

func drMessageJSON(m dr.Message, plaintext []byte) obj {
	return obj{
		"plaintext":      hx(plaintext),
		"plaintext_utf8": string(plaintext),
		"header_dh":      hx(m.Header.DH),
		"header_n":       m.Header.N,
		"header_pn":      m.Header.PN,
		"header_encoded": hx(m.Header.Encode()),
		"ciphertext":     hx(m.Ciphertext),
	}
}

// doubleRatchetVectors: alice's first two messages to bob after X3DH and bob's first reply, as
// status-go's encryptor runs the ratchet (status-im/doubleratchet with EthereumCrypto, no
// associated data of its own).
func doubleRatchetVectors(k vectorKeys) (obj, error) {
	sk, err := encryption.PerformPassiveX3DH(&k.alice.PublicKey, k.bobSignedPreKey, &k.aliceEphemeral.PublicKey, k.bob)
	if err != nil {
		return nil, err
	}
	spkPub := crypto.CompressPubkey(&k.bobSignedPreKey.PublicKey)
	aliceCrypto := &fixedRatchet{next: []*ecdsa.PrivateKey{k.aliceRatchet, k.aliceRatchet2}}
	alice, err := dr.NewWithRemoteKey([]byte("vector"), sk, spkPub, nil, dr.WithCrypto(aliceCrypto))
	if err != nil {
		return nil, err
	}
	bobCrypto := &fixedRatchet{next: []*ecdsa.PrivateKey{k.bobRatchet}}
	bobPair := crypto.DHPair{PrvKey: crypto.FromECDSA(k.bobSignedPreKey), PubKey: spkPub}
	bob, err := dr.New([]byte("vector"), sk, bobPair, nil, dr.WithCrypto(bobCrypto))
	if err != nil {
		return nil, err
	}

	var msgs []obj
	send := func(from, to dr.Session, text string) (dr.Message, error) {
		m, err := from.RatchetEncrypt([]byte(text), nil)
		if err != nil {
			return m, err
		}
		got, err := to.RatchetDecrypt(m, nil)
		if err != nil {
			return m, err
		}
		if !bytes.Equal(got, []byte(text)) {
			return m, errors.New("round trip changed the plaintext")
		}
		return m, nil
	}
	m0, err := send(alice, bob, "first message from alice")
	if err != nil {
		return nil, err
	}
	m1, err := send(alice, bob, "second message from alice")
	if err != nil {
		return nil, err
	}
	r0, err := send(bob, alice, "first reply from bob")
	if err != nil {
		return nil, err
	}
	msgs = append(msgs,
		obj{"from": "alice", "message": drMessageJSON(m0, []byte("first message from alice"))},
		obj{"from": "alice", "message": drMessageJSON(m1, []byte("second message from alice"))},
		obj{"from": "bob", "message": drMessageJSON(r0, []byte("first reply from bob"))},
	)

	// The keys behind alice's first message, from EthereumCrypto's own KDFs.
	c := crypto.EthereumCrypto{}
	alicePair := crypto.DHPair{PrvKey: crypto.FromECDSA(k.aliceRatchet), PubKey: crypto.CompressPubkey(&k.aliceRatchet.PublicKey)}
	dhOut, err := c.DH(alicePair, spkPub)
	if err != nil {
		return nil, err
	}
	rootKey, chainKey, headerKey := c.KdfRK(sk, dhOut)
	ck1, mk0 := c.KdfCK(chainKey)
	ck2, mk1 := c.KdfCK(ck1)
	check, err := c.Encrypt(mk0, []byte("first message from alice"), m0.Header.Encode())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(check, m0.Ciphertext) {
		return nil, errors.New("message key 0 does not reproduce the first ciphertext")
	}

	out := header("status-go v1.1.0: github.com/status-im/doubleratchet sessions (NewWithRemoteKey for the initiator, New with the signed pre key pair for the responder) with eth-node/crypto.EthereumCrypto, as protocol/encryption/encryptor.go runs them")
	out["keys"] = k.json("alice identity", "bob identity", "bob signed pre key", "alice x3dh ephemeral", "alice first ratchet key", "bob first ratchet key", "alice second ratchet key")
	out["ratchet_keys_note"] = "each party's ratchet key pairs, which status-go draws at random, are the fixed keys in this order: alice first (session start), bob first (on alice's first message), alice second (on bob's reply)"
	out["shared_key"] = hx(sk)
	out["shared_key_from"] = "x3dh.json shared_secret"
	out["initiator_first_step"] = obj{
		"dh_out":        hx(dhOut),
		"root_key":      hx(rootKey),
		"chain_key":     hx(chainKey),
		"header_key":    hx(headerKey),
		"message_key_0": hx(mk0),
		"chain_key_1":   hx(ck1),
		"message_key_1": hx(mk1),
		"chain_key_2":   hx(ck2),
		"kdf_rk":        "HKDF-SHA256(ikm=dh_out, salt=root key, info=\"rsZUpEuXUqqwXBvSy3EcievAh4cMj6QL\") -> 96 bytes: root, chain, header",
		"kdf_ck":        "chain' = HMAC-SHA256(ck, 0x0f), message key = HMAC-SHA256(ck, 0x10)",
		"encrypt":       "HKDF-SHA256(ikm=mk, salt=32 zero bytes, info=\"pcwSByyx2CRdryCffXJwy7xgVZWtW5Sh\") -> enc key 32, auth key 32, iv 16; ciphertext = iv || AES-256-CTR || HMAC-SHA256(auth key, ad || iv || ct); ad = header_encoded",
	}
	out["header_encoding"] = "n (uint32 little endian) || pn (uint32 little endian) || dh (33-byte compressed key)"
	out["messages"] = msgs
	return out, nil
}

type topicVector struct {
	Kind         string `json:"kind"`
	Of           string `json:"of,omitempty"`
	Name         string `json:"name"`
	Topic        string `json:"topic"`
	ContentTopic string `json:"content_topic"`
	SymKey       string `json:"sym_key,omitempty"`
}

// topicVectors: chat names -> 4-byte topics -> content topics, and the symmetric keys status-go
// derives from names (Waku.AddSymKeyFromPassword, which the filters manager uses).
func topicVectors(k vectorKeys, tmp string) (obj, error) {
	w, err := wakuv2.New(nil, "", &wakuv2.Config{
		ClusterID:               shard.MainStatusShardCluster,
		DefaultShardPubsubTopic: shard.DefaultShardPubsubTopic(),
	}, zap.NewNop(), nil, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	symKey := func(name string) (string, error) {
		id, err := w.AddSymKeyFromPassword(name)
		if err != nil {
			return "", err
		}
		key, err := w.GetSymKey(id)
		if err != nil {
			return "", err
		}
		return hx(key), nil
	}
	topic := func(kind, of, name string, symmetric bool) (topicVector, error) {
		t := transport.ToTopic(name)
		v := topicVector{Kind: kind, Of: of, Name: name, Topic: hx(t), ContentTopic: wakucommon.BytesToTopic(t).ContentTopic()}
		if symmetric {
			key, err := symKey(name)
			if err != nil {
				return v, err
			}
			v.SymKey = key
		}
		return v, nil
	}

	// The negotiated secret, as status-go's sharedsecret package makes it (it needs a database).
	db, err := appdatabase.InitializeDB(filepath.Join(tmp, "vectors.db"), "vectors", dbsetup.ReducedKDFIterationsNumber)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := sqlite.Migrate(db); err != nil { // the messenger's own tables, as NewMessenger makes them
		return nil, err
	}
	ss := sharedsecret.New(db, zap.NewNop())
	aliceSide, err := ss.Generate(k.alice, &k.bob.PublicKey, vectorInstallationID)
	if err != nil {
		return nil, err
	}
	bobSide, err := ss.Generate(k.bob, &k.alice.PublicKey, vectorInstallationID)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(aliceSide.Key, bobSide.Key) {
		return nil, errors.New("negotiated secrets differ")
	}
	negotiatedName := hex.EncodeToString(aliceSide.Key)

	var list []topicVector
	add := func(kind, of, name string, symmetric bool) error {
		v, err := topic(kind, of, name, symmetric)
		if err != nil {
			return err
		}
		list = append(list, v)
		return nil
	}
	for _, who := range []struct {
		label string
		key   *ecdsa.PrivateKey
	}{{"alice identity", k.alice}, {"bob identity", k.bob}} {
		if err := add("partitioned", who.label, transport.PartitionedTopic(&who.key.PublicKey), false); err != nil {
			return nil, err
		}
		if err := add("personal_discovery", who.label, transport.PersonalDiscoveryTopic(&who.key.PublicKey), false); err != nil {
			return nil, err
		}
		if err := add("contact_code", who.label, transport.ContactCodeTopic(&who.key.PublicKey), true); err != nil {
			return nil, err
		}
	}
	if err := add("discovery", "", transport.DiscoveryTopic(), false); err != nil {
		return nil, err
	}
	for _, name := range []string{"status", "pystatus-test", "état-😀"} {
		if err := add("public_chat", "", name, true); err != nil {
			return nil, err
		}
	}
	if err := add("negotiated", "alice identity + bob identity", negotiatedName, true); err != nil {
		return nil, err
	}

	out := header("status-go v1.1.0: protocol/transport.ToTopic, PartitionedTopic, PersonalDiscoveryTopic, ContactCodeTopic, DiscoveryTopic; wakuv2/common.TopicType.ContentTopic; wakuv2.Waku.AddSymKeyFromPassword; protocol/encryption/sharedsecret.Generate")
	out["keys"] = k.json("alice identity", "bob identity")
	out["negotiated_secret"] = obj{
		"between":              []string{"alice identity", "bob identity"},
		"secret":               negotiatedName,
		"chat_id":              transport.NegotiatedTopic(&k.bob.PublicKey),
		"chat_id_of":           "bob identity, as alice files it",
		"topic_name":           "the lowercase hex of the secret, which names the topic and the symmetric key",
		"formula":              "ECIES shared x coordinate of the two identity keys (16 + 16 bytes requested: 32 bytes)",
		"same_from_both_sides": true,
	}
	out["pubsub_topics"] = obj{
		"default":       shard.DefaultShardPubsubTopic(),
		"non_protected": shard.DefaultNonProtectedPubsubTopic(),
	}
	out["topics"] = list
	return out, nil
}

// mvdsVectors: the MVDS message id and payloads status-go's datasync builds around a wrapped
// message in a 1:1 chat.
func mvdsVectors(k vectorKeys, wrapped []byte) (obj, error) {
	group := datasync.ToOneToOneGroupID(&k.alice.PublicKey, &k.bob.PublicKey)
	if group != datasync.ToOneToOneGroupID(&k.bob.PublicKey, &k.alice.PublicKey) {
		return nil, errors.New("1:1 group id depends on the order of keys")
	}
	msg := mvdsproto.Message{GroupId: group[:], Timestamp: vectorMVDSTime, Body: wrapped}
	id := msg.ID()
	payload := &mvdsproto.Payload{Messages: []*mvdsproto.Message{&msg}}
	ack := &mvdsproto.Payload{Acks: [][]byte{id[:]}}
	out := header("status-go v1.1.0: protocol/datasync.ToOneToOneGroupID; github.com/status-im/mvds protobuf.Message.ID and Payload")
	out["keys"] = k.json("alice identity", "bob identity")
	out["group_id"] = hx(group[:])
	out["group_id_formula"] = "keccak256(compressed keys, the one with the smaller X first)"
	out["message"] = obj{
		"group_id":  hx(group[:]),
		"timestamp": vectorMVDSTime,
		"body":      hx(wrapped),
		"body_from": "application_metadata.json cases[0].wrapped",
		"id":        hx(id[:]),
		"formula":   "sha256(\"MESSAGE_ID\" || group id || uint64 little endian timestamp (seconds) || body)",
	}
	out["payload_with_message"] = hx(marshal(payload))
	out["payload_with_ack"] = hx(marshal(ack))
	return out, nil
}

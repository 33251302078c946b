package main

// membershipVectors: private group chat events signed and folded by status-go v1.1.0's own
// protocol/v1 code (MembershipUpdateEvent.Sign, MembershipUpdateMessageFromProtobuf,
// NewGroupWithEvents), for fixed keys and a fixed chat id.

import (
	"crypto/ecdsa"

	"github.com/golang/protobuf/proto"

	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/protocol/protobuf"
	v1protocol "github.com/status-im/status-go/protocol/v1"
)

const vectorGroupUUID = "6f1c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5"

func keyHex(k *ecdsa.PrivateKey) string { return "0x" + hx(crypto.FromECDSAPub(&k.PublicKey)) }

func signedEvent(chatID string, e v1protocol.MembershipUpdateEvent, k *ecdsa.PrivateKey) (v1protocol.MembershipUpdateEvent, error) {
	e.ChatID = chatID
	err := e.Sign(k)
	return e, err
}

func groupJSON(g *v1protocol.Group) obj {
	return obj{
		"name":    g.Name(),
		"color":   g.Color(),
		"image":   hx(g.Image()),
		"members": append([]string{}, g.Members()...),
		"admins":  append([]string{}, g.Admins()...),
	}
}

func membershipVectors(k vectorKeys) (obj, error) {
	carol := fixedKey("carol identity")
	alice, bob := k.alice, k.bob
	chatID := vectorGroupUUID + "-" + keyHex(alice)
	c := vectorClock
	steps := []struct {
		label  string
		signer *ecdsa.PrivateKey
		event  v1protocol.MembershipUpdateEvent
	}{
		{"created", alice, v1protocol.NewChatCreatedEvent("pystatus group", "#887af9", c)},
		{"members_added", alice, v1protocol.NewMembersAddedEvent([]string{keyHex(bob), keyHex(carol)}, c+1)},
		{"bob_joined", bob, v1protocol.NewMemberJoinedEvent(c + 2)},
		{"admins_added", alice, v1protocol.NewAdminsAddedEvent([]string{keyHex(bob)}, c+3)},
		{"name_changed", bob, v1protocol.NewNameChangedEvent("renamed", c+4)},
		{"color_changed", carol, v1protocol.NewColorChangedEvent("#ff0000", c+5)},
		{"image_changed", alice, v1protocol.NewImageChangedEvent([]byte{1, 2, 3}, c+6)},
		{"carol_removed", bob, v1protocol.NewMemberRemovedEvent(keyHex(carol), c+7)},
		{"bob_admin_removed", bob, v1protocol.NewAdminRemovedEvent(keyHex(bob), c+8)},
		{"bob_left", bob, v1protocol.NewMemberRemovedEvent(keyHex(bob), c+9)},
	}
	var events []v1protocol.MembershipUpdateEvent
	var eventsJSON []obj
	var states []obj
	for _, s := range steps {
		e, err := signedEvent(chatID, s.event, s.signer)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
		g, err := v1protocol.NewGroupWithEvents(chatID, append([]v1protocol.MembershipUpdateEvent{}, events...))
		if err != nil {
			return nil, err
		}
		eventsJSON = append(eventsJSON, obj{
			"label": s.label, "type": int(e.Type), "clock": e.ClockValue, "from": e.From,
			"raw": hx(e.RawPayload), "signature": hx(e.Signature), "wire": hx(append(append([]byte{}, e.Signature...), e.RawPayload...)),
		})
		states = append(states, groupJSON(g))
	}
	chat := &protobuf.ChatMessage{
		Clock: vectorClock + 10, Timestamp: vectorClock + 10, Text: "hello group", ChatId: chatID,
		MessageType: protobuf.MessageType_PRIVATE_GROUP, ContentType: protobuf.ChatMessage_TEXT_PLAIN,
	}
	sender := &v1protocol.MembershipUpdateMessage{ChatID: chatID, Events: events[:2], Message: chat}
	pbm, err := sender.ToProtobuf()
	if err != nil {
		return nil, err
	}
	encoded, err := proto.Marshal(pbm)
	if err != nil {
		return nil, err
	}

	// Event sets status-go refuses (each signed correctly; the rule decides).
	invalid := []struct {
		label  string
		signer *ecdsa.PrivateKey
		event  v1protocol.MembershipUpdateEvent
	}{
		{"outsider_adds_members", carol, v1protocol.NewMembersAddedEvent([]string{keyHex(carol)}, c+1)},
		{"outsider_renames", carol, v1protocol.NewNameChangedEvent("x", c+1)},
		{"empty_name", alice, v1protocol.NewNameChangedEvent("", c+1)},
		{"non_member_joins", carol, v1protocol.NewMemberJoinedEvent(c + 1)},
		{"admin_of_non_member", alice, v1protocol.NewAdminsAddedEvent([]string{keyHex(carol)}, c+1)},
		{"second_created", alice, v1protocol.NewChatCreatedEvent("again", "", c+1)},
		{"non_admin_removes_other", bob, v1protocol.NewMemberRemovedEvent(keyHex(alice), c+2)},
		{"removes_other_admin", alice, v1protocol.NewAdminRemovedEvent(keyHex(bob), c+2)},
		{"unknown_type", alice, v1protocol.MembershipUpdateEvent{Type: 42, ClockValue: c + 1}},
	}
	var invalidJSON []obj
	for _, s := range invalid {
		e, err := signedEvent(chatID, s.event, s.signer)
		if err != nil {
			return nil, err
		}
		base := events[:1]
		if s.label == "non_admin_removes_other" || s.label == "removes_other_admin" {
			base = events[:2] // bob is a member, not an admin
			if s.label == "removes_other_admin" {
				base = events[:4] // bob is an admin
			}
		}
		set := append(append([]v1protocol.MembershipUpdateEvent{}, base...), e)
		// Listed before the fold, which sorts its argument in place: the refused event last.
		var wires []string
		for _, x := range set {
			wires = append(wires, hx(append(append([]byte{}, x.Signature...), x.RawPayload...)))
		}
		_, gerr := v1protocol.NewGroupWithEvents(chatID, set)
		invalidJSON = append(invalidJSON, obj{"label": s.label, "events": wires, "rejected": gerr != nil})
	}

	// A chat id that does not end with the creator's key.
	wrongID := vectorGroupUUID + "-" + keyHex(bob)
	wrong, err := signedEvent(wrongID, v1protocol.NewChatCreatedEvent("g", "", c), alice)
	if err != nil {
		return nil, err
	}
	_, wrongErr := v1protocol.NewGroupWithEvents(wrongID, []v1protocol.MembershipUpdateEvent{wrong})

	out := header("protocol/v1/membership_update_message.go")
	out["keys"] = append(k.json("alice identity", "bob identity"), keyJSON("carol identity", carol))
	out["chat_id"] = chatID
	out["events"] = eventsJSON
	out["states"] = states
	out["message"] = obj{"chat_message": hx(marshal(chat)), "encoded": hx(encoded), "events": 2}
	out["invalid"] = invalidJSON
	out["wrong_chat_id"] = obj{"chat_id": wrongID, "event": hx(append(append([]byte{}, wrong.Signature...), wrong.RawPayload...)), "rejected": wrongErr != nil}
	return out, nil
}

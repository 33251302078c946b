package main

import (
	"encoding/json"
	"sort"

	"go.uber.org/zap"

	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/protocol"
	"github.com/status-im/status-go/protocol/common"
	"github.com/status-im/status-go/protocol/protobuf"
	msignal "github.com/status-im/status-go/signal"
)

// statusMessage is a message as status-go's signals carry it (common.Message's JSON).
type statusMessage struct {
	ID                  string `json:"id"`
	From                string `json:"from"`
	Text                string `json:"text"`
	ChatID              string `json:"chatId"`
	LocalChatID         string `json:"localChatId"`
	Clock               uint64 `json:"clock"`
	Timestamp           uint64 `json:"timestamp"`
	WhisperTimestamp    uint64 `json:"whisperTimestamp"`
	ContentType         int32  `json:"contentType"`
	OutgoingStatus      string `json:"outgoingStatus"`
	ResponseTo          string `json:"responseTo"`
	EditedAt            uint64 `json:"editedAt"`
	Deleted             bool   `json:"deleted"`
	DeletedForMe        bool   `json:"deletedForMe"`
	DisplayName         string `json:"displayName"`
	ContactRequestState int    `json:"contactRequestState"`
}

func (m *statusMessage) toMessage() *common.Message {
	msg := common.NewMessage()
	msg.ID = m.ID
	msg.From = m.From
	msg.Text = m.Text
	msg.ChatId = m.ChatID
	msg.LocalChatID = m.LocalChatID
	msg.Clock = m.Clock
	msg.Timestamp = m.Timestamp
	msg.WhisperTimestamp = m.WhisperTimestamp
	msg.ContentType = protobuf.ChatMessage_ContentType(m.ContentType)
	msg.OutgoingStatus = m.OutgoingStatus
	msg.ResponseTo = m.ResponseTo
	msg.EditedAt = m.EditedAt
	msg.Deleted = m.Deleted
	msg.DeletedForMe = m.DeletedForMe
	msg.DisplayName = m.DisplayName
	msg.ContactRequestState = common.ContactRequestState(m.ContactRequestState)
	return msg
}

type statusReaction struct {
	ID          string `json:"id"`
	Clock       uint64 `json:"clock"`
	ChatID      string `json:"chatId"`
	LocalChatID string `json:"localChatId"`
	From        string `json:"from"`
	MessageID   string `json:"messageId"`
	Retracted   bool   `json:"retracted"`
	EmojiID     int32  `json:"emojiId"`
}

type statusPin struct {
	ID          string `json:"id"`
	Clock       uint64 `json:"clock"`
	MessageID   string `json:"message_id"`
	ChatID      string `json:"chat_id"`
	Pinned      bool   `json:"pinned"`
	From        string `json:"from"`
	LocalChatID string `json:"localChatId"`
}

type statusRemoved struct {
	ChatID    string `json:"chatId"`
	MessageID string `json:"messageId"`
	DeletedBy string `json:"deletedBy"`
}

type newMessagesSignal struct {
	Messages        []statusMessage  `json:"messages"`
	Contacts        []map[string]any `json:"contacts"`
	EmojiReactions  []statusReaction `json:"emojiReactions"`
	PinMessages     []statusPin      `json:"pinMessages"`
	RemovedMessages []statusRemoved  `json:"removedMessages"`
}

type envelopeSignal struct {
	IDs     []string `json:"ids"`
	Message string   `json:"message"`
}

type deliveredSignal struct {
	ChatID    string `json:"chatID"`
	MessageID string `json:"messageID"`
}

// signalsPassedOn are status-go signals a test may wait for, printed as {"event":"signal"}.
var signalsPassedOn = map[string]bool{
	msignal.EventMailserverAvailable:     true,
	msignal.EventMailserverChanged:       true,
	msignal.EventMailserverNotWorking:    true,
	msignal.EventHistoryRequestStarted:   true,
	msignal.EventHistoryRequestCompleted: true,
	msignal.EventHistoryRequestFailed:    true,
	msignal.EventDecryptMessageFailed:    true,
	msignal.EventBundleAdded:             true,
}

// onSignal receives status-go's signals (the JSON the mobile app gets) and prints events.
func (p *peer) onSignal(data []byte) {
	var env struct {
		Type  string          `json:"type"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		p.logger.Warn("undecodable signal", zap.ByteString("signal", data))
		return
	}
	switch env.Type {
	case msignal.EventNewMessages:
		var ev newMessagesSignal
		if err := json.Unmarshal(env.Event, &ev); err != nil {
			p.logger.Warn("undecodable messages.new", zap.Error(err))
			return
		}
		p.emitNewMessages(&ev)
	case msignal.EventEnvelopeSent, msignal.EventEnvelopeExpired:
		var ev envelopeSignal
		if err := json.Unmarshal(env.Event, &ev); err != nil {
			return
		}
		status := common.OutgoingStatusSent
		if env.Type == msignal.EventEnvelopeExpired {
			status = "expired"
		}
		for _, id := range ev.IDs {
			p.out.event("status", obj{"messageId": id, "outgoingStatus": status})
		}
	case msignal.EventMesssageDelivered:
		var ev deliveredSignal
		if err := json.Unmarshal(env.Event, &ev); err != nil {
			return
		}
		p.out.event("status", obj{"messageId": ev.MessageID, "chatId": ev.ChatID, "outgoingStatus": common.OutgoingStatusDelivered})
	default:
		if signalsPassedOn[env.Type] {
			var payload any
			_ = json.Unmarshal(env.Event, &payload)
			p.out.event("signal", obj{"type": env.Type, "data": payload})
		}
	}
}

func (p *peer) emitNewMessages(ev *newMessagesSignal) {
	for i := range ev.Messages {
		m := ev.Messages[i].toMessage()
		fields := p.messageJSON(m, nil)
		p.out.event("message", fields)
		if m.ContentType == protobuf.ChatMessage_CONTACT_REQUEST && m.From != p.id.chatPubHex {
			p.out.event("contact_request", obj{
				"requestId": m.ID,
				"messageId": m.ID,
				"from":      m.From,
				"text":      m.Text,
				"chatId":    m.LocalChatID,
				"state":     int(m.ContactRequestState),
			})
		}
	}
	for _, c := range ev.Contacts {
		if id, _ := c["id"].(string); id == p.id.chatPubHex {
			continue
		}
		p.out.event("contact", contactFields(c))
	}
	for _, r := range ev.EmojiReactions {
		p.out.event("reaction", obj{
			"emojiId":   r.ID,
			"messageId": r.MessageID,
			"chatId":    r.LocalChatID,
			"from":      r.From,
			"emoji":     protobuf.EmojiReaction_Type_name[r.EmojiID],
			"retracted": r.Retracted,
			"clock":     r.Clock,
		})
	}
	for _, pm := range ev.PinMessages {
		p.out.event("pin", obj{"id": pm.ID, "messageId": pm.MessageID, "chatId": pm.LocalChatID, "pinned": pm.Pinned, "from": pm.From, "clock": pm.Clock})
	}
	for _, rm := range ev.RemovedMessages {
		p.out.event("deleted", obj{"messageId": rm.MessageID, "chatId": rm.ChatID, "deletedBy": rm.DeletedBy})
	}
}

// publishResponse prints what a command's own MessengerResponse holds, as the signals would.
func (p *peer) publishResponse(resp *protocol.MessengerResponse) {
	if resp == nil || resp.IsEmpty() {
		return
	}
	raw, err := json.Marshal(resp)
	if err != nil {
		return
	}
	var ev newMessagesSignal
	if err := json.Unmarshal(raw, &ev); err != nil {
		return
	}
	p.emitNewMessages(&ev)
}

var contactKeys = []string{"id", "displayName", "primaryName", "added", "hasAddedUs", "mutual", "active", "blocked", "contactRequestState", "contactRequestLocalState", "contactRequestRemoteState", "compressedKey", "lastUpdated"}

func contactFields(full map[string]any) obj {
	item := obj{}
	for _, k := range contactKeys {
		if v, ok := full[k]; ok {
			item[k] = v
		}
	}
	return item
}

// onPeerStats is wakuv2's connection-status callback: it prints who came and went.
func (p *peer) onPeerStats(status types.ConnStatus) {
	current := map[string]bool{}
	for id := range status.Peers {
		current[id.String()] = true
	}
	p.mu.Lock()
	var joined, left []string
	for id := range current {
		if !p.lastPeers[id] {
			joined = append(joined, id)
		}
	}
	for id := range p.lastPeers {
		if !current[id] {
			left = append(left, id)
		}
	}
	p.lastPeers = current
	p.mu.Unlock()
	sort.Strings(joined)
	sort.Strings(left)
	for _, id := range joined {
		fields := obj{"peerId": id, "connected": true, "peers": len(current)}
		for pid, info := range status.Peers {
			if pid.String() == id {
				var protos []string
				for _, pr := range info.Protocols {
					protos = append(protos, string(pr))
				}
				sort.Strings(protos)
				fields["protocols"] = protos
			}
		}
		p.out.event("peer", fields)
	}
	for _, id := range left {
		p.out.event("peer", obj{"peerId": id, "connected": false, "peers": len(current)})
	}
}

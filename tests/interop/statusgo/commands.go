package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/status-im/status-go/api/multiformat"
	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/images"
	"github.com/status-im/status-go/protocol"
	"github.com/status-im/status-go/protocol/common"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/requests"
)

// cmdArgs are a command's arguments: the request object's other fields.
type cmdArgs map[string]json.RawMessage

func args(req map[string]json.RawMessage) cmdArgs {
	a := cmdArgs{}
	for k, v := range req {
		if k != "id" && k != "cmd" {
			a[k] = v
		}
	}
	return a
}

func (a cmdArgs) str(names ...string) string {
	for _, n := range names {
		if raw, ok := a[n]; ok {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				return s
			}
			return strings.Trim(string(raw), `"`)
		}
	}
	return ""
}

func (a cmdArgs) need(names ...string) (string, error) {
	if v := a.str(names...); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("missing argument %q", names[0])
}

func (a cmdArgs) boolean(name string, def bool) bool {
	raw, ok := a[name]
	if !ok {
		return def
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return def
	}
	return b
}

func (a cmdArgs) integer(name string, def int) int {
	raw, ok := a[name]
	if !ok {
		return def
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return def
	}
	return n
}

type handler func(p *peer, ctx context.Context, a cmdArgs) (obj, error)

var handlers = map[string]handler{
	"info":                    (*peer).cmdInfo,
	"send":                    (*peer).cmdSend,
	"reply":                   (*peer).cmdSend,
	"send_image":              (*peer).cmdSendImage,
	"send_contact_request":    (*peer).cmdSendContactRequest,
	"accept_contact_request":  (*peer).cmdAcceptContactRequest,
	"decline_contact_request": (*peer).cmdDeclineContactRequest,
	"retract_contact_request": (*peer).cmdRetractContactRequest,
	"contacts":                (*peer).cmdContacts,
	"messages":                (*peer).cmdMessages,
	"chats":                   (*peer).cmdChats,
	"join_public":             (*peer).cmdJoinPublic,
	"send_public":             (*peer).cmdSendPublic,
	"react":                   (*peer).cmdReact,
	"retract_reaction":        (*peer).cmdRetractReaction,
	"reactions":               (*peer).cmdReactions,
	"edit":                    (*peer).cmdEdit,
	"delete":                  (*peer).cmdDelete,
	"pin":                     (*peer).cmdPin,
	"offline":                 (*peer).cmdOffline,
	"online":                  (*peer).cmdOnline,
	"peers":                   (*peer).cmdPeers,
	"dial":                    (*peer).cmdDial,
	"fetch_history":           (*peer).cmdFetchHistory,
	"bandwidth":               (*peer).cmdBandwidth,
}

func (p *peer) dispatch(ctx context.Context, name string, a cmdArgs) (result obj, err error) {
	h, ok := handlers[name]
	if !ok {
		return nil, fmt.Errorf("unknown command %q", name)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v", name, r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return h(p, ctx, a)
}

func (p *peer) cmdInfo(_ context.Context, _ cmdArgs) (obj, error) {
	return p.readyInfo(), nil
}

// publicKeyArg reads a 0x04... public key (or a compressed zQ3... one) and returns the
// uncompressed hex status-go uses as the 1:1 chat id.
func publicKeyArg(s string) (string, error) {
	if strings.HasPrefix(s, "zQ3") {
		uncompressed, err := multiformat.DeserializeCompressedKey(s)
		if err != nil {
			return "", fmt.Errorf("bad compressed key %q: %v", s, err)
		}
		s = uncompressed
	}
	pk, err := common.HexToPubkey(s)
	if err != nil {
		return "", fmt.Errorf("bad public key %q: %v", s, err)
	}
	return common.PubkeyToHex(pk), nil
}

func (p *peer) oneToOneChat(to string) (*protocol.Chat, error) {
	if chat := p.messenger.Chat(to); chat != nil && chat.Active {
		return chat, nil
	}
	if _, err := p.messenger.CreateOneToOneChat(&requests.CreateOneToOneChat{ID: types.Hex2Bytes(to)}); err != nil {
		return nil, err
	}
	chat := p.messenger.Chat(to)
	if chat == nil {
		return nil, errors.New("chat was not created")
	}
	return chat, nil
}

// chatIDArg resolves {chatId} or {to}: a public key names a 1:1 chat, anything else a chat id.
func (p *peer) chatIDArg(a cmdArgs) (string, error) {
	if id := a.str("chatId"); id != "" {
		return id, nil
	}
	to, err := a.need("to", "name")
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(to, "0x04") || strings.HasPrefix(to, "zQ3") {
		return publicKeyArg(to)
	}
	return to, nil
}

func sentMessage(resp *protocol.MessengerResponse, contentType protobuf.ChatMessage_ContentType) *common.Message {
	var found *common.Message
	for _, m := range resp.Messages() {
		if m.ContentType == contentType {
			found = m
		}
	}
	if found == nil && len(resp.Messages()) > 0 {
		found = resp.Messages()[0]
	}
	return found
}

func (p *peer) sendText(ctx context.Context, chatID, text, responseTo string) (obj, error) {
	msg := common.NewMessage()
	msg.ChatId = chatID
	msg.Text = text
	msg.ContentType = protobuf.ChatMessage_TEXT_PLAIN
	msg.ResponseTo = responseTo
	return p.sendMessage(ctx, msg, protobuf.ChatMessage_TEXT_PLAIN)
}

// sendMessage sends msg and answers with the message sent. The response also holds the
// message replied to, which is not ours to report.
func (p *peer) sendMessage(ctx context.Context, msg *common.Message, contentType protobuf.ChatMessage_ContentType) (obj, error) {
	resp, err := p.messenger.SendChatMessage(ctx, msg)
	if err != nil {
		return nil, err
	}
	var sent *common.Message
	for _, m := range resp.Messages() {
		if m.ContentType == contentType && m.ID != msg.ResponseTo && m.Text == msg.Text {
			sent = m
		}
	}
	if sent == nil {
		sent = sentMessage(resp, contentType)
	}
	if sent == nil {
		return nil, errors.New("no message in the response")
	}
	return obj{"messageId": sent.ID, "chatId": msg.ChatId, "clock": sent.Clock, "message": p.messageJSON(sent, nil)}, nil
}

// cmdSendImage sends a picture 1:1 as status-go's ImageMessage: {to, payload (base64),
// text?}. The bytes go as given (no resizing), so tests can send large ones.
func (p *peer) cmdSendImage(ctx context.Context, a cmdArgs) (obj, error) {
	encoded, err := a.need("payload")
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	chatID, err := p.chatIDArg(a)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(chatID, "0x04") {
		if _, err := p.oneToOneChat(chatID); err != nil {
			return nil, err
		}
	}
	msg := common.NewMessage()
	msg.ChatId = chatID
	msg.Text = a.str("text")
	msg.ContentType = protobuf.ChatMessage_IMAGE
	msg.Payload = &protobuf.ChatMessage_Image{Image: &protobuf.ImageMessage{
		Payload: data,
		Format:  images.GetProtobufImageFormat(data),
	}}
	return p.sendMessage(ctx, msg, protobuf.ChatMessage_IMAGE)
}

// send and reply: {to, text[, responseTo]} in a 1:1 chat, or {chatId, text[, responseTo]}.
func (p *peer) cmdSend(ctx context.Context, a cmdArgs) (obj, error) {
	text, err := a.need("text")
	if err != nil {
		return nil, err
	}
	chatID, err := p.chatIDArg(a)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(chatID, "0x04") {
		if _, err := p.oneToOneChat(chatID); err != nil {
			return nil, err
		}
	}
	return p.sendText(ctx, chatID, text, a.str("responseTo"))
}

func (p *peer) cmdSendContactRequest(ctx context.Context, a cmdArgs) (obj, error) {
	toArg, err := a.need("to")
	if err != nil {
		return nil, err
	}
	to, err := publicKeyArg(toArg)
	if err != nil {
		return nil, err
	}
	text := a.str("text")
	if text == "" {
		text = "Hello from status-go"
	}
	resp, err := p.messenger.SendContactRequest(ctx, &requests.SendContactRequest{ID: to, Message: text})
	if err != nil {
		return nil, err
	}
	sent := sentMessage(resp, protobuf.ChatMessage_CONTACT_REQUEST)
	result := obj{"contacts": p.contactsJSON(resp.Contacts)}
	if sent != nil {
		result["messageId"] = sent.ID
		result["requestId"] = sent.ID
	}
	return result, nil
}

func (p *peer) cmdAcceptContactRequest(ctx context.Context, a cmdArgs) (obj, error) {
	var resp *protocol.MessengerResponse
	var err error
	if reqID := a.str("requestId", "messageId"); reqID != "" {
		resp, err = p.messenger.AcceptContactRequest(ctx, &requests.AcceptContactRequest{ID: types.Hex2Bytes(reqID)})
	} else {
		fromArg, e := a.need("from")
		if e != nil {
			return nil, errors.New("missing argument \"requestId\" or \"from\"")
		}
		from, e := publicKeyArg(fromArg)
		if e != nil {
			return nil, e
		}
		resp, err = p.messenger.AcceptLatestContactRequestForContact(ctx, &requests.AcceptLatestContactRequestForContact{ID: types.Hex2Bytes(from)})
	}
	if err != nil {
		return nil, err
	}
	return obj{"contacts": p.contactsJSON(resp.Contacts)}, nil
}

func (p *peer) cmdDeclineContactRequest(ctx context.Context, a cmdArgs) (obj, error) {
	var resp *protocol.MessengerResponse
	var err error
	if reqID := a.str("requestId", "messageId"); reqID != "" {
		resp, err = p.messenger.DeclineContactRequest(ctx, &requests.DeclineContactRequest{ID: types.Hex2Bytes(reqID)})
	} else {
		fromArg, e := a.need("from")
		if e != nil {
			return nil, errors.New("missing argument \"requestId\" or \"from\"")
		}
		from, e := publicKeyArg(fromArg)
		if e != nil {
			return nil, e
		}
		resp, err = p.messenger.DismissLatestContactRequestForContact(ctx, &requests.DismissLatestContactRequestForContact{ID: types.Hex2Bytes(from)})
	}
	if err != nil {
		return nil, err
	}
	return obj{"contacts": p.contactsJSON(resp.Contacts)}, nil
}

func (p *peer) cmdRetractContactRequest(_ context.Context, a cmdArgs) (obj, error) {
	toArg, err := a.need("to")
	if err != nil {
		return nil, err
	}
	to, err := publicKeyArg(toArg)
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.RetractContactRequest(&requests.RetractContactRequest{ID: types.Hex2Bytes(to)})
	if err != nil {
		return nil, err
	}
	return obj{"contacts": p.contactsJSON(resp.Contacts)}, nil
}

func (p *peer) cmdContacts(_ context.Context, _ cmdArgs) (obj, error) {
	return obj{"contacts": p.contactsJSON(p.messenger.Contacts())}, nil
}

// contactsJSON keeps the fields a test asserts on, taken from status-go's own JSON of a
// contact (its added/mutual flags are computed there).
func (p *peer) contactsJSON(contacts []*protocol.Contact) []obj {
	list := []obj{}
	for _, c := range contacts {
		if c == nil || c.ID == p.id.chatPubHex {
			continue
		}
		raw, err := json.Marshal(c)
		if err != nil {
			continue
		}
		var full map[string]any
		if err := json.Unmarshal(raw, &full); err != nil {
			continue
		}
		item := contactFields(full)
		list = append(list, item)
	}
	return list
}

// messageJSON is the message shape replies and events share.
func (p *peer) messageJSON(m *common.Message, pinned map[string]bool) obj {
	item := obj{
		"id":             m.ID,
		"from":           m.From,
		"text":           m.Text,
		"chatId":         m.LocalChatID,
		"clock":          m.Clock,
		"timestamp":      m.Timestamp,
		"contentType":    protobuf.ChatMessage_ContentType_name[int32(m.ContentType)],
		"contentTypeId":  int32(m.ContentType),
		"outgoingStatus": m.OutgoingStatus,
		"responseTo":     m.ResponseTo,
		"edited":         m.EditedAt != 0,
		"editedAt":       m.EditedAt,
		"deleted":        m.Deleted || m.DeletedForMe,
		"pinned":         pinned[m.ID],
		"displayName":    m.DisplayName,
		"outgoing":       m.From == p.id.chatPubHex,
	}
	if m.ContactRequestState != 0 {
		item["contactRequestState"] = int(m.ContactRequestState)
	}
	return item
}

func (p *peer) cmdMessages(_ context.Context, a cmdArgs) (obj, error) {
	chatID, err := p.chatIDArg(a)
	if err != nil {
		return nil, err
	}
	limit := a.integer("limit", 1000)
	msgs, _, err := p.messenger.MessageByChatID(chatID, "", limit)
	if err != nil {
		return nil, err
	}
	pinned := map[string]bool{}
	if pins, _, err := p.messenger.PinnedMessageByChatID(chatID, "", 1000); err == nil {
		for _, pm := range pins {
			pinned[pm.Message.ID] = true
		}
	}
	// status-go pages newest first; tests read a chat in clock order.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Clock < msgs[j].Clock })
	list := []obj{}
	for _, m := range msgs {
		list = append(list, p.messageJSON(m, pinned))
	}
	return obj{"chatId": chatID, "messages": list}, nil
}

func (p *peer) cmdChats(_ context.Context, _ cmdArgs) (obj, error) {
	list := []obj{}
	for _, c := range p.messenger.Chats() {
		list = append(list, obj{"id": c.ID, "name": c.Name, "chatType": int(c.ChatType), "active": c.Active, "unread": c.UnviewedMessagesCount})
	}
	return obj{"chats": list}, nil
}

func (p *peer) cmdJoinPublic(_ context.Context, a cmdArgs) (obj, error) {
	name, err := a.need("name", "chatId")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.CreatePublicChat(&requests.CreatePublicChat{ID: name}); err != nil {
		return nil, err
	}
	return obj{"chatId": name}, nil
}

func (p *peer) cmdSendPublic(ctx context.Context, a cmdArgs) (obj, error) {
	name, err := a.need("name", "chatId")
	if err != nil {
		return nil, err
	}
	text, err := a.need("text")
	if err != nil {
		return nil, err
	}
	if chat := p.messenger.Chat(name); chat == nil || !chat.Active {
		if _, err := p.messenger.CreatePublicChat(&requests.CreatePublicChat{ID: name}); err != nil {
			return nil, err
		}
	}
	return p.sendText(ctx, name, text, a.str("responseTo"))
}

var emojiNames = map[string]protobuf.EmojiReaction_Type{
	"❤️": protobuf.EmojiReaction_LOVE, "❤": protobuf.EmojiReaction_LOVE, "love": protobuf.EmojiReaction_LOVE,
	"👍": protobuf.EmojiReaction_THUMBS_UP, "thumbs_up": protobuf.EmojiReaction_THUMBS_UP,
	"👎": protobuf.EmojiReaction_THUMBS_DOWN, "thumbs_down": protobuf.EmojiReaction_THUMBS_DOWN,
	"😂": protobuf.EmojiReaction_LAUGH, "laugh": protobuf.EmojiReaction_LAUGH,
	"😢": protobuf.EmojiReaction_SAD, "sad": protobuf.EmojiReaction_SAD,
	"😡": protobuf.EmojiReaction_ANGRY, "😠": protobuf.EmojiReaction_ANGRY, "angry": protobuf.EmojiReaction_ANGRY,
}

func emojiArg(s string) (protobuf.EmojiReaction_Type, error) {
	if t, ok := emojiNames[strings.ToLower(s)]; ok {
		return t, nil
	}
	if v, ok := protobuf.EmojiReaction_Type_value[strings.ToUpper(s)]; ok && v != 0 {
		return protobuf.EmojiReaction_Type(v), nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 6 {
		return protobuf.EmojiReaction_Type(n), nil
	}
	return 0, fmt.Errorf("unknown emoji %q (status-go knows love, thumbs_up, thumbs_down, laugh, sad, angry)", s)
}

func (p *peer) chatOfMessage(a cmdArgs, messageID string) (string, error) {
	if a.str("chatId", "to", "name") != "" {
		return p.chatIDArg(a)
	}
	m, err := p.messenger.MessageByID(messageID)
	if err != nil {
		return "", fmt.Errorf("message %s: %w", messageID, err)
	}
	return m.LocalChatID, nil
}

func (p *peer) cmdReact(ctx context.Context, a cmdArgs) (obj, error) {
	messageID, err := a.need("messageId")
	if err != nil {
		return nil, err
	}
	emoji, err := emojiArg(a.str("emoji", "emojiId"))
	if err != nil {
		return nil, err
	}
	chatID, err := p.chatOfMessage(a, messageID)
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.SendEmojiReaction(ctx, chatID, messageID, emoji)
	if err != nil {
		return nil, err
	}
	reactions := resp.EmojiReactions()
	if len(reactions) == 0 {
		return nil, errors.New("no reaction in the response")
	}
	return obj{"emojiId": reactions[0].ID(), "reactionId": reactions[0].ID(), "chatId": chatID}, nil
}

func (p *peer) cmdRetractReaction(ctx context.Context, a cmdArgs) (obj, error) {
	id, err := a.need("emojiId", "reactionId")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.SendEmojiReactionRetraction(ctx, id); err != nil {
		return nil, err
	}
	return obj{}, nil
}

func (p *peer) cmdReactions(_ context.Context, a cmdArgs) (obj, error) {
	chatID, err := p.chatIDArg(a)
	if err != nil {
		return nil, err
	}
	rs, err := p.messenger.EmojiReactionsByChatID(chatID, "", 1000)
	if err != nil {
		return nil, err
	}
	list := []obj{}
	for _, r := range rs {
		list = append(list, reactionJSON(r))
	}
	return obj{"reactions": list}, nil
}

func reactionJSON(r *protocol.EmojiReaction) obj {
	return obj{
		"emojiId":   r.ID(),
		"messageId": r.MessageId,
		"chatId":    r.LocalChatID,
		"from":      r.From,
		"emoji":     protobuf.EmojiReaction_Type_name[int32(r.Type)],
		"retracted": r.Retracted,
		"clock":     r.Clock,
	}
}

func (p *peer) cmdEdit(ctx context.Context, a cmdArgs) (obj, error) {
	messageID, err := a.need("messageId")
	if err != nil {
		return nil, err
	}
	text, err := a.need("text")
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.EditMessage(ctx, &requests.EditMessage{ID: types.Hex2Bytes(messageID), Text: text, ContentType: protobuf.ChatMessage_TEXT_PLAIN})
	if err != nil {
		return nil, err
	}
	result := obj{"messageId": messageID}
	if len(resp.Messages()) > 0 {
		result["message"] = p.messageJSON(resp.Messages()[0], nil)
	}
	return result, nil
}

func (p *peer) cmdDelete(ctx context.Context, a cmdArgs) (obj, error) {
	messageID, err := a.need("messageId")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.DeleteMessageAndSend(ctx, messageID); err != nil {
		return nil, err
	}
	return obj{"messageId": messageID}, nil
}

func (p *peer) cmdPin(ctx context.Context, a cmdArgs) (obj, error) {
	messageID, err := a.need("messageId")
	if err != nil {
		return nil, err
	}
	chatID, err := p.chatOfMessage(a, messageID)
	if err != nil {
		return nil, err
	}
	pinned := a.boolean("pinned", true)
	pin := &common.PinMessage{PinMessage: &protobuf.PinMessage{MessageId: messageID, ChatId: chatID, Pinned: pinned}}
	if _, err := p.messenger.SendPinMessage(ctx, pin); err != nil {
		return nil, err
	}
	return obj{"messageId": messageID, "pinned": pinned}, nil
}

func (p *peer) peersJSON() []obj {
	list := []obj{}
	for id, info := range p.waku.Peers() {
		var protos, addrs []string
		for _, pr := range info.Protocols {
			protos = append(protos, string(pr))
		}
		for _, ad := range info.Addresses {
			addrs = append(addrs, ad.String())
		}
		sort.Strings(protos)
		list = append(list, obj{"peerId": id.String(), "protocols": protos, "addrs": addrs})
	}
	sort.Slice(list, func(i, j int) bool { return list[i]["peerId"].(string) < list[j]["peerId"].(string) })
	return list
}

func (p *peer) cmdPeers(_ context.Context, _ cmdArgs) (obj, error) {
	return obj{"peers": p.peersJSON(), "online": p.messenger.Online()}, nil
}

// offline cuts every connection and forgets the peers' addresses so that nothing redials
// them (as when the network goes away); online puts the given nodes back and dials them.
func (p *peer) cmdOffline(_ context.Context, _ cmdArgs) (obj, error) {
	p.mu.Lock()
	p.offline = true
	p.mu.Unlock()
	p.disconnectAll()
	go p.keepOffline()
	return obj{"peers": len(p.waku.Peers())}, nil
}

func (p *peer) disconnectAll() {
	store := p.waku.Peerstore()
	for id := range p.waku.Peers() {
		store.ClearAddrs(id)
		if err := p.waku.DropPeer(id); err != nil {
			p.logger.Sugar().Warnf("drop peer %s: %v", id, err)
		}
	}
	for _, id := range store.PeersWithAddrs() {
		store.ClearAddrs(id)
	}
}

func (p *peer) keepOffline() {
	for {
		time.Sleep(100 * time.Millisecond)
		p.mu.Lock()
		offline := p.offline
		p.mu.Unlock()
		if !offline {
			return
		}
		if len(p.waku.Peers()) > 0 {
			p.disconnectAll()
		}
	}
}

func (p *peer) knownAddrs() []string {
	seen := map[string]bool{}
	var all []string
	for _, a := range append(append([]string{}, p.opts.wakuNodes...), p.opts.storeNodes...) {
		if !seen[a] {
			seen[a] = true
			all = append(all, a)
		}
	}
	return all
}

func (p *peer) cmdOnline(_ context.Context, _ cmdArgs) (obj, error) {
	p.mu.Lock()
	p.offline = false
	p.mu.Unlock()
	var errs []string
	for _, addr := range p.knownAddrs() {
		if err := p.dialAddr(addr); err != nil {
			errs = append(errs, err.Error())
		}
	}
	result := obj{"peers": len(p.waku.Peers())}
	if len(errs) > 0 {
		result["dialErrors"] = errs
	}
	return result, nil
}

func (p *peer) dialAddr(addr string) error {
	ma, err := multiaddr.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	info, err := libp2ppeer.AddrInfoFromP2pAddr(ma)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	p.waku.Peerstore().AddAddrs(info.ID, info.Addrs, time.Hour)
	if _, err := p.waku.AddRelayPeer(ma); err != nil {
		p.logger.Sugar().Warnf("add relay peer %s: %v", addr, err)
	}
	if err := p.waku.DialPeer(ma); err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	return nil
}

// dial {addr}: connect to one more peer now.
func (p *peer) cmdDial(_ context.Context, a cmdArgs) (obj, error) {
	addr, err := a.need("addr")
	if err != nil {
		return nil, err
	}
	if err := p.dialAddr(addr); err != nil {
		return nil, err
	}
	return obj{"peers": len(p.waku.Peers())}, nil
}

// fetch_history: ask the store node for what was missed in every chat (as the app does when
// it comes online).
func (p *peer) cmdFetchHistory(_ context.Context, _ cmdArgs) (obj, error) {
	resp, err := p.messenger.RequestAllHistoricMessages(false, true)
	if err != nil {
		return nil, err
	}
	p.publishResponse(resp)
	return obj{"messages": len(resp.Messages())}, nil
}

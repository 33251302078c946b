package main

// Private group chat commands, registered beside the others at start:
//   group_create {name, members: [key]}   -> {chatId, members, admins}
//   group_add    {chatId, members: [key]}
//   group_remove {chatId, member}
//   group_leave  {chatId}
//   group_rename {chatId, name}
//   group_add_admins {chatId, members: [key]}
//   group        {chatId}                 -> {chatId, name, active, members, admins}
// Keys are 0x04... or zQ3...; messages go with `send {chatId, text}` and are read with
// `messages {chatId}`, as in any chat.

import (
	"context"
	"encoding/json"
	"fmt"
)

func init() {
	handlers["group_create"] = (*peer).cmdGroupCreate
	handlers["group_add"] = (*peer).cmdGroupAdd
	handlers["group_remove"] = (*peer).cmdGroupRemove
	handlers["group_leave"] = (*peer).cmdGroupLeave
	handlers["group_rename"] = (*peer).cmdGroupRename
	handlers["group_add_admins"] = (*peer).cmdGroupAddAdmins
	handlers["group"] = (*peer).cmdGroup
}

func (a cmdArgs) keys(name string) ([]string, error) {
	raw, ok := a[name]
	if !ok {
		return nil, fmt.Errorf("missing argument %q", name)
	}
	var given []string
	if err := json.Unmarshal(raw, &given); err != nil {
		return nil, fmt.Errorf("%s: a list of keys: %v", name, err)
	}
	out := make([]string, 0, len(given))
	for _, k := range given {
		hexKey, err := publicKeyArg(k)
		if err != nil {
			return nil, err
		}
		out = append(out, hexKey)
	}
	return out, nil
}

func (p *peer) groupJSON(chatID string) (obj, error) {
	chat := p.messenger.Chat(chatID)
	if chat == nil {
		return nil, fmt.Errorf("no chat %q", chatID)
	}
	members, admins := []string{}, []string{}
	for _, m := range chat.Members {
		members = append(members, m.ID)
		if m.Admin {
			admins = append(admins, m.ID)
		}
	}
	return obj{"chatId": chat.ID, "name": chat.Name, "active": chat.Active, "chatType": int(chat.ChatType), "members": members, "admins": admins}, nil
}

func (p *peer) cmdGroupCreate(ctx context.Context, a cmdArgs) (obj, error) {
	name, err := a.need("name")
	if err != nil {
		return nil, err
	}
	members, err := a.keys("members")
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.CreateGroupChatWithMembers(ctx, name, members)
	if err != nil {
		return nil, err
	}
	chats := resp.Chats()
	if len(chats) == 0 {
		return nil, fmt.Errorf("no chat in the response")
	}
	return p.groupJSON(chats[0].ID)
}

func (p *peer) cmdGroupAdd(ctx context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	members, err := a.keys("members")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.AddMembersToGroupChat(ctx, chatID, members); err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

func (p *peer) cmdGroupRemove(ctx context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	member, err := a.need("member")
	if err != nil {
		return nil, err
	}
	hexKey, err := publicKeyArg(member)
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.RemoveMembersFromGroupChat(ctx, chatID, []string{hexKey}); err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

func (p *peer) cmdGroupLeave(ctx context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.LeaveGroupChat(ctx, chatID, false); err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

func (p *peer) cmdGroup(_ context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

func (p *peer) cmdGroupRename(ctx context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	name, err := a.need("name")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.ChangeGroupChatName(ctx, chatID, name); err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

func (p *peer) cmdGroupAddAdmins(ctx context.Context, a cmdArgs) (obj, error) {
	chatID, err := a.need("chatId")
	if err != nil {
		return nil, err
	}
	members, err := a.keys("members")
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.AddAdminsToGroupChat(ctx, chatID, members); err != nil {
		return nil, err
	}
	return p.groupJSON(chatID)
}

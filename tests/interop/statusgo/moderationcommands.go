package main

// Community moderation for interop tests (issue 17): deleting a member's messages.
//
// Commands, registered beside the others at start:
//   community_ban_delete {communityId, member}
//       BanUserFromCommunity with DeleteAllMessages: the description names the member in
//       banned_members with delete_all_messages, and members delete the member's messages.
//   community_delete_member_messages {communityId, member, messageId?, chatId?}
//       DeleteCommunityMemberMessages (ApplicationMetadataMessage type 85): the one message
//       named, or all of the member's messages in the community when none is.

import (
	"context"

	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/requests"
)

func init() {
	handlers["community_ban_delete"] = (*peer).cmdCommunityBanDelete
	handlers["community_delete_member_messages"] = (*peer).cmdCommunityDeleteMemberMessages
}

func (p *peer) cmdCommunityBanDelete(ctx context.Context, a cmdArgs) (obj, error) {
	id, member, err := p.communityMemberArgs(a)
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.BanUserFromCommunity(ctx, &requests.BanUserFromCommunity{
		CommunityID:       id,
		User:              types.HexBytes(types.FromHex(member)),
		DeleteAllMessages: true,
	}); err != nil {
		return nil, err
	}
	return obj{"banned": member, "deleteAllMessages": true}, nil
}

func (p *peer) cmdCommunityDeleteMemberMessages(_ context.Context, a cmdArgs) (obj, error) {
	id, member, err := p.communityMemberArgs(a)
	if err != nil {
		return nil, err
	}
	request := &requests.DeleteCommunityMemberMessages{CommunityID: id, MemberPubKey: member}
	if messageID := a.str("messageId"); messageID != "" {
		request.Messages = []*protobuf.DeleteCommunityMemberMessage{
			{Id: messageID, ChatId: a.str("chatId")},
		}
	} else {
		request.DeleteAll = true
	}
	response, err := p.messenger.DeleteCommunityMemberMessages(request)
	if err != nil {
		return nil, err
	}
	deleted := []string{}
	for messageID := range response.DeletedMessages() {
		deleted = append(deleted, messageID)
	}
	return obj{"deleted": deleted}, nil
}

package main

// Community commands, registered beside the others at start:
//   community_create  {name, manual}              -> {communityId, channels}  (status-go adds "general")
//   community_channel {communityId, name}                  -> {chatId}
//   community_fetch   {communityId}                        -> community (from the store, waiting)
//   community_spectate {communityId}               (read its channels without joining)
//   community_join    {communityId}                        -> {requestId}      (reveals the wallet address)
//   community_requests {communityId}                       -> {requests: [{communityId, publicKey}]}
//   community_accept  {communityId, member}                (member: 0x04... of a pending request)
//   community_ban     {communityId, member}
//   community         {communityId}                        -> {communityId, name, joined, members, banned, channels}
// Posts go with `send {chatId, text}` and are read with `messages {chatId}`, as in any chat.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	gethcommon "github.com/ethereum/go-ethereum/common"

	"github.com/status-im/status-go/account"
	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/multiaccounts/accounts"
	"github.com/status-im/status-go/protocol"
	"github.com/status-im/status-go/protocol/common/shard"
	"github.com/status-im/status-go/protocol/communities"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/requests"
	walletcommon "github.com/status-im/status-go/services/wallet/common"
	"github.com/status-im/status-go/services/wallet/thirdparty"
	"github.com/status-im/status-go/services/wallet/token"
)

func init() {
	handlers["community_create"] = (*peer).cmdCommunityCreate
	handlers["community_channel"] = (*peer).cmdCommunityChannel
	handlers["community_fetch"] = (*peer).cmdCommunityFetch
	handlers["community_join"] = (*peer).cmdCommunityJoin
	handlers["community_spectate"] = (*peer).cmdCommunitySpectate
	handlers["community_requests"] = (*peer).cmdCommunityRequests
	handlers["community_accept"] = (*peer).cmdCommunityAccept
	handlers["community_ban"] = (*peer).cmdCommunityBan
	handlers["community"] = (*peer).cmdCommunity
}

func (p *peer) communityArg(a cmdArgs) (types.HexBytes, error) {
	id, err := a.need("communityId")
	if err != nil {
		return nil, err
	}
	raw, err := types.DecodeHex(id)
	if err != nil || len(raw) != 33 {
		return nil, fmt.Errorf("communityId: not a community id: %q", id)
	}
	return raw, nil
}

// communityMemberArgs reads the community id and the member's key (0x04 and hex) that the
// accept and ban commands both take.
func (p *peer) communityMemberArgs(a cmdArgs) (types.HexBytes, string, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, "", err
	}
	member, err := a.need("member")
	if err != nil {
		return nil, "", err
	}
	return id, member, nil
}

func communityJSON(c *communities.Community) obj {
	members := []string{}
	for key := range c.Members() {
		members = append(members, key)
	}
	sort.Strings(members)
	banned := []string{}
	for key := range c.PendingAndBannedMembers() {
		banned = append(banned, key)
	}
	sort.Strings(banned)
	channels := []obj{}
	for id, chat := range c.Chats() {
		channels = append(channels, obj{"chatId": c.ChatID(id), "name": chat.Identity.DisplayName})
	}
	return obj{
		"communityId": c.IDString(), "name": c.Name(), "joined": c.Joined(), "members": members,
		"banned": banned, "channels": channels, "clock": c.Clock(),
	}
}

func (p *peer) cmdCommunityCreate(_ context.Context, a cmdArgs) (obj, error) {
	name, err := a.need("name")
	if err != nil {
		return nil, err
	}
	access := protobuf.CommunityPermissions_AUTO_ACCEPT
	if a.boolean("manual", false) {
		access = protobuf.CommunityPermissions_MANUAL_ACCEPT
	}
	resp, err := p.messenger.CreateCommunity(&requests.CreateCommunity{
		Name: name, Description: "made by status-go", Color: "#887af9", Membership: access,
	}, true)
	if err != nil {
		return nil, err
	}
	if len(resp.Communities()) == 0 {
		return nil, fmt.Errorf("no community in the response")
	}
	return communityJSON(resp.Communities()[0]), nil
}

func (p *peer) cmdCommunityChannel(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	name, err := a.need("name")
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.CreateCommunityChat(id, &protobuf.CommunityChat{
		Permissions: &protobuf.CommunityPermissions{Access: protobuf.CommunityPermissions_AUTO_ACCEPT},
		Identity:    &protobuf.ChatIdentity{DisplayName: name, Description: name, Color: "#887af9", Emoji: ""},
	})
	if err != nil {
		return nil, err
	}
	for _, chat := range resp.Chats() {
		if chat.Name == name {
			return obj{"chatId": chat.ID}, nil
		}
	}
	return nil, fmt.Errorf("no channel %q in the response", name)
}

func (p *peer) cmdCommunityFetch(_ context.Context, a cmdArgs) (obj, error) {
	id, err := a.need("communityId")
	if err != nil {
		return nil, err
	}
	c, err := p.messenger.FetchCommunity(&protocol.FetchCommunityRequest{
		// The shard of every community created without one (the default, 16/32): without it
		// status-go first asks the store for the community's shard info.
		CommunityKey: id, TryDatabase: false, WaitForResponse: true,
		Shard: &shard.Shard{Cluster: shard.MainStatusShardCluster, Index: shard.DefaultShardIndex},
	})
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("no description of %s found", id)
	}
	return communityJSON(c), nil
}

func (p *peer) cmdCommunityJoin(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	address := p.id.derived[pathDefaultWallet].Address
	resp, err := p.messenger.RequestToJoinCommunity(&requests.RequestToJoinCommunity{
		CommunityID: id, AddressesToReveal: []string{address}, AirdropAddress: address,
	})
	if err != nil {
		return nil, err
	}
	out := obj{}
	for _, r := range resp.RequestsToJoinCommunity() {
		out["requestId"] = r.ID.String()
		out["state"] = int(r.State)
	}
	return out, nil
}

func (p *peer) cmdCommunitySpectate(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.SpectateCommunity(id)
	if err != nil {
		return nil, err
	}
	chats := []string{}
	for _, chat := range resp.Chats() {
		chats = append(chats, chat.ID)
	}
	return obj{"chats": chats}, nil
}

func (p *peer) cmdCommunityRequests(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	pending, err := p.messenger.PendingRequestsToJoinForCommunity(id)
	if err != nil {
		return nil, err
	}
	found := []obj{}
	for _, r := range pending {
		found = append(found, obj{"requestId": r.ID.String(), "publicKey": r.PublicKey, "clock": r.Clock})
	}
	return obj{"requests": found}, nil
}

func (p *peer) cmdCommunityAccept(_ context.Context, a cmdArgs) (obj, error) {
	id, member, err := p.communityMemberArgs(a)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pending, err := p.messenger.PendingRequestsToJoinForCommunity(id)
		if err != nil {
			return nil, err
		}
		for _, r := range pending {
			if r.PublicKey == member {
				if _, err := p.messenger.AcceptRequestToJoinCommunity(&requests.AcceptRequestToJoinCommunity{ID: r.ID}); err != nil {
					return nil, err
				}
				return obj{"accepted": member}, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no pending request from %s", member)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (p *peer) cmdCommunityBan(ctx context.Context, a cmdArgs) (obj, error) {
	id, member, err := p.communityMemberArgs(a)
	if err != nil {
		return nil, err
	}
	if _, err := p.messenger.BanUserFromCommunity(ctx, &requests.BanUserFromCommunity{
		CommunityID: id, User: types.HexBytes(types.FromHex(member)),
	}); err != nil {
		return nil, err
	}
	return obj{"banned": member}, nil
}

func (p *peer) cmdCommunity(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	c, err := p.messenger.GetCommunityByID(id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("no community %s", id)
	}
	return communityJSON(c), nil
}

// localAccounts is the account manager a control node needs to check the addresses a request
// to join reveals (status-go's DefaultManager asks an RPC node's personal_ecRecover; the peer
// has none, so it recovers locally, as that method does: EIP-191 hash, v 27 or 28).
type localAccounts struct{}

var errNoWallet = errors.New("statusgo-peer: no wallet")

func (localAccounts) GetVerifiedWalletAccount(*accounts.Database, string, string) (*account.SelectedExtKey, error) {
	return nil, errNoWallet
}

func (localAccounts) Sign(account.SignParams, *account.SelectedExtKey) (types.HexBytes, error) {
	return nil, errNoWallet
}

func (localAccounts) DeleteAccount(types.Address) error { return errNoWallet }

func (localAccounts) CanRecover(params account.RecoverParams, revealed types.Address) (bool, error) {
	message, err := types.DecodeHex(params.Message)
	if err != nil {
		return false, err
	}
	signature, err := types.DecodeHex(params.Signature)
	if err != nil || len(signature) != 65 || (signature[64] != 27 && signature[64] != 28) {
		return false, fmt.Errorf("not a personal signature")
	}
	signature[64] -= 27
	key, err := crypto.SigToPub(crypto.TextHash(message), signature)
	if err != nil {
		return false, err
	}
	return crypto.PubkeyToAddress(*key) == revealed, nil
}

// noTokens is the token manager a member needs to ask to join (status-go checks the revealed
// addresses against the community's token permissions; the peer holds no balances and knows
// no chains, so only communities without token permissions can be joined).
type noTokens struct{}

func (noTokens) GetBalancesByChain(context.Context, []gethcommon.Address, []gethcommon.Address, []uint64) (communities.BalancesByChain, error) {
	return communities.BalancesByChain{}, nil
}

func (noTokens) GetCachedBalancesByChain(context.Context, []gethcommon.Address, []gethcommon.Address, []uint64) (communities.BalancesByChain, error) {
	return communities.BalancesByChain{}, nil
}

func (noTokens) FindOrCreateTokenByAddress(context.Context, uint64, gethcommon.Address) *token.Token {
	return nil
}

func (noTokens) GetAllChainIDs() ([]uint64, error) { return []uint64{}, nil }

// noCollectibles is the collectibles manager beside noTokens: status-go's permission check
// takes a method value of it even for permissions without token criteria
// (permission_checker.go CheckCachedPermissions), so without one a request to join a
// community with any BECOME_MEMBER permission (an encrypted one) panics on a nil interface.
type noCollectibles struct{}

func (noCollectibles) FetchBalancesByOwnerAndContractAddress(context.Context, walletcommon.ChainID, gethcommon.Address, []gethcommon.Address) (thirdparty.TokenBalancesPerContractAddress, error) {
	return thirdparty.TokenBalancesPerContractAddress{}, nil
}

func (noCollectibles) FetchCachedBalancesByOwnerAndContractAddress(context.Context, walletcommon.ChainID, gethcommon.Address, []gethcommon.Address) (thirdparty.TokenBalancesPerContractAddress, error) {
	return thirdparty.TokenBalancesPerContractAddress{}, nil
}

func (noCollectibles) GetCollectibleOwnership(thirdparty.CollectibleUniqueID) ([]thirdparty.AccountBalance, error) {
	return nil, nil
}

func (noCollectibles) FetchCollectibleOwnersByContractAddress(context.Context, walletcommon.ChainID, gethcommon.Address) (*thirdparty.CollectibleContractOwnership, error) {
	return nil, errNoWallet
}

package main

// A ledger in place of a chain, for token-gated communities in tests.
//
// status-go v1.1.0 gates communities with token permissions: an encrypted community is one
// with a BECOME_MEMBER permission, a read-only channel one with a CAN_VIEW_CHANNEL permission
// (communities/community.go Encrypted, channelEncrypted). Its control node decides who may
// join, view and post by asking its TokenManager for the ERC20 balances of the addresses a
// member revealed (communities/permission_checker.go CheckPermissionToJoin and the members'
// reevaluation). The app's TokenManager asks RPC nodes of real chains; the tests have no
// chain, so the peer answers from this ledger instead (it replaces noTokens in peer.go). Only
// the chain is stood in for: the permission checks, descriptions, keys and messages stay
// status-go's own.
//
// Commands, registered beside the others at start:
//   ledger_credit        {chainId, token, address, amount}  -> {balance}
//       adds amount (a decimal integer, token units) to address's balance of the ERC20
//       contract token on chainId; the chain becomes one the ledger answers for.
//   community_permission {communityId, type, chatIds?, chainId, token, amount}
//       -> {permissionId, encrypted, channelsEncrypted}
//       a token permission as the app makes it (Messenger.CreateCommunityTokenPermission)
//       with one ERC20 criterion; type is become_member, can_view_channel or
//       can_view_and_post_channel. v1.1.0 refuses an amount of 0 for a contract criterion
//       (requests/create_community_token_permission_request.go Validate); ENS criteria would
//       need an ENS verifier the peer lacks, so none are offered.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"

	gethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/status-im/status-go/protocol/communities"
	"github.com/status-im/status-go/protocol/protobuf"
	"github.com/status-im/status-go/protocol/requests"
	"github.com/status-im/status-go/services/wallet/token"
)

// maxLedgerEntries bounds the balances a test may set (chain, address, token triples).
const maxLedgerEntries = 10000

// ledgerMainnet is the chain a ledger answers for before any credit: chain 1, where the
// tests' made-up tokens live.
const ledgerMainnet = 1

type ledgerKey struct {
	chain   uint64
	account gethcommon.Address
	token   gethcommon.Address
}

// ledger is a TokenManager (communities/manager.go) whose balances a test sets.
type ledger struct {
	mu       sync.Mutex
	balances map[ledgerKey]*big.Int
	chains   map[uint64]bool
}

var testLedger = &ledger{balances: map[ledgerKey]*big.Int{}, chains: map[uint64]bool{ledgerMainnet: true}}

func init() {
	handlers["ledger_credit"] = (*peer).cmdLedgerCredit
	handlers["community_permission"] = (*peer).cmdCommunityPermission
}

func (l *ledger) credit(chain uint64, account, tokenAddress gethcommon.Address, amount *big.Int) (*big.Int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := ledgerKey{chain, account, tokenAddress}
	balance, ok := l.balances[key]
	if !ok {
		if len(l.balances) >= maxLedgerEntries {
			return nil, fmt.Errorf("ledger full (%d balances)", maxLedgerEntries)
		}
		balance = new(big.Int)
		l.balances[key] = balance
	}
	balance.Add(balance, amount)
	l.chains[chain] = true
	return new(big.Int).Set(balance), nil
}

// GetBalancesByChain answers chain -> account -> token -> balance for every pair the ledger
// holds a balance for (status-go's BalancesByChain); pairs without one are left out, as an
// account with no such token is.
func (l *ledger) GetBalancesByChain(_ context.Context, accounts, tokens []gethcommon.Address, chainIDs []uint64) (communities.BalancesByChain, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := communities.BalancesByChain{}
	for _, chain := range chainIDs {
		for _, account := range accounts {
			for _, tokenAddress := range tokens {
				balance, ok := l.balances[ledgerKey{chain, account, tokenAddress}]
				if !ok {
					continue
				}
				if out[chain] == nil {
					out[chain] = map[gethcommon.Address]map[gethcommon.Address]*hexutil.Big{}
				}
				if out[chain][account] == nil {
					out[chain][account] = map[gethcommon.Address]*hexutil.Big{}
				}
				out[chain][account][tokenAddress] = (*hexutil.Big)(new(big.Int).Set(balance))
			}
		}
	}
	return out, nil
}

// GetCachedBalancesByChain is GetBalancesByChain: a ledger has nothing to cache.
func (l *ledger) GetCachedBalancesByChain(ctx context.Context, accounts, tokens []gethcommon.Address, chainIDs []uint64) (communities.BalancesByChain, error) {
	return l.GetBalancesByChain(ctx, accounts, tokens, chainIDs)
}

// FindOrCreateTokenByAddress describes any contract as a test token of 0 decimals, so an
// amount in the ledger is the amount a permission names.
func (l *ledger) FindOrCreateTokenByAddress(_ context.Context, chainID uint64, address gethcommon.Address) *token.Token {
	return &token.Token{Address: address, Name: "Test token", Symbol: "TST", Decimals: 0, ChainID: chainID}
}

// GetAllChainIDs is every chain the ledger answers for, ascending.
func (l *ledger) GetAllChainIDs() ([]uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint64, 0, len(l.chains))
	for chain := range l.chains {
		out = append(out, chain)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func chainArg(a cmdArgs) (uint64, error) {
	raw := a.str("chainId")
	if raw == "" {
		return ledgerMainnet, nil
	}
	chain, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || chain == 0 {
		return 0, fmt.Errorf("chainId: not a chain id: %q", raw)
	}
	return chain, nil
}

func addressArg(a cmdArgs, name string) (gethcommon.Address, error) {
	raw, err := a.need(name)
	if err != nil {
		return gethcommon.Address{}, err
	}
	if !gethcommon.IsHexAddress(raw) {
		return gethcommon.Address{}, fmt.Errorf("%s: not an address: %q", name, raw)
	}
	return gethcommon.HexToAddress(raw), nil
}

func amountArg(a cmdArgs) (*big.Int, error) {
	raw, err := a.need("amount")
	if err != nil {
		return nil, err
	}
	amount, ok := new(big.Int).SetString(raw, 10)
	if !ok || amount.Sign() < 0 {
		return nil, fmt.Errorf("amount: not a whole number of tokens: %q", raw)
	}
	return amount, nil
}

func (p *peer) cmdLedgerCredit(_ context.Context, a cmdArgs) (obj, error) {
	chain, err := chainArg(a)
	if err != nil {
		return nil, err
	}
	tokenAddress, err := addressArg(a, "token")
	if err != nil {
		return nil, err
	}
	account, err := addressArg(a, "address")
	if err != nil {
		return nil, err
	}
	amount, err := amountArg(a)
	if err != nil {
		return nil, err
	}
	balance, err := testLedger.credit(chain, account, tokenAddress, amount)
	if err != nil {
		return nil, err
	}
	return obj{"balance": balance.String()}, nil
}

var permissionTypes = map[string]protobuf.CommunityTokenPermission_Type{
	"become_member":             protobuf.CommunityTokenPermission_BECOME_MEMBER,
	"can_view_channel":          protobuf.CommunityTokenPermission_CAN_VIEW_CHANNEL,
	"can_view_and_post_channel": protobuf.CommunityTokenPermission_CAN_VIEW_AND_POST_CHANNEL,
}

func (p *peer) cmdCommunityPermission(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	kind, err := a.need("type")
	if err != nil {
		return nil, err
	}
	permissionType, ok := permissionTypes[strings.ToLower(kind)]
	if !ok {
		return nil, fmt.Errorf("type: not a permission type: %q", kind)
	}
	chatIDs := []string{}
	if raw, ok := a["chatIds"]; ok {
		if err := json.Unmarshal(raw, &chatIDs); err != nil {
			return nil, fmt.Errorf("chatIds: a list of chat ids: %v", err)
		}
	}
	chain, err := chainArg(a)
	if err != nil {
		return nil, err
	}
	tokenAddress, err := addressArg(a, "token")
	if err != nil {
		return nil, err
	}
	amount, err := amountArg(a)
	if err != nil {
		return nil, err
	}
	resp, err := p.messenger.CreateCommunityTokenPermission(&requests.CreateCommunityTokenPermission{
		CommunityID: id,
		Type:        permissionType,
		ChatIds:     chatIDs,
		TokenCriteria: []*protobuf.TokenCriteria{{
			Type:              protobuf.CommunityTokenType_ERC20,
			ContractAddresses: map[uint64]string{chain: tokenAddress.Hex()},
			Symbol:            "TST",
			Name:              "Test token",
			AmountInWei:       amount.String(),
			Decimals:          0,
		}},
	})
	if err != nil {
		return nil, err
	}
	if len(resp.Communities()) == 0 {
		return nil, fmt.Errorf("no community in the response")
	}
	c := resp.Communities()[0]
	permissionID := ""
	for pid, permission := range c.TokenPermissions() {
		if permission.Type == permissionType && sameStrings(permission.ChatIds, chatIDs) {
			permissionID = pid
		}
	}
	encrypted := []string{}
	for channelID := range c.Chats() {
		if c.ChannelEncrypted(channelID) {
			encrypted = append(encrypted, c.ChatID(channelID))
		}
	}
	sort.Strings(encrypted)
	return obj{"permissionId": permissionID, "encrypted": c.Encrypted(), "channelsEncrypted": encrypted}, nil
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

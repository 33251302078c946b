package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/multiformats/go-multiaddr"
	"go.uber.org/zap"

	"github.com/status-im/status-go/account/generator"
	"github.com/status-im/status-go/api/multiformat"
	"github.com/status-im/status-go/appdatabase"
	"github.com/status-im/status-go/common/dbsetup"
	gethbridge "github.com/status-im/status-go/eth-node/bridge/geth"
	"github.com/status-im/status-go/eth-node/crypto"
	"github.com/status-im/status-go/eth-node/types"
	"github.com/status-im/status-go/images"
	"github.com/status-im/status-go/logutils"
	"github.com/status-im/status-go/multiaccounts"
	"github.com/status-im/status-go/multiaccounts/accounts"
	"github.com/status-im/status-go/multiaccounts/settings"
	"github.com/status-im/status-go/params"
	"github.com/status-im/status-go/protocol"
	"github.com/status-im/status-go/protocol/common/shard"
	"github.com/status-im/status-go/protocol/encryption/multidevice"
	"github.com/status-im/status-go/protocol/identity/alias"
	"github.com/status-im/status-go/protocol/transport"
	"github.com/status-im/status-go/services/browsers"
	"github.com/status-im/status-go/services/ext"
	mailserversDB "github.com/status-im/status-go/services/mailservers"
	msignal "github.com/status-im/status-go/signal"
	"github.com/status-im/status-go/wakuv2"
	wakucommon "github.com/status-im/status-go/wakuv2/common"
	"github.com/status-im/status-go/walletdatabase"
)

// The Status derivation paths (BIP-44 wallet, EIP-1581 chat key) as the app uses them.
const (
	pathWalletRoot    = "m/44'/60'/0'/0"
	pathDefaultWallet = "m/44'/60'/0'/0/0"
	pathEIP1581       = "m/43'/60'/1581'"
	pathDefaultChat   = "m/43'/60'/1581'/0'/0"
	pathEncryption    = "m/43'/60'/1581'/1'/0"
)

// fleetName names this peer's private "fleet": status-go knows no store nodes for it, so the
// only store nodes it uses are the ones given with --store-node.
const fleetName = "pystatus.test"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type peerOptions struct {
	dataDir          string
	wakuNodes        multiFlag
	storeNodes       multiFlag
	mnemonic         string
	password         string
	displayName      string
	light            bool
	clusterID        uint
	host             string
	port             int
	logFile          string
	logLevel         string
	retrieveInterval time.Duration
	missingMessages  bool
}

func parsePeerOptions(args []string) (*peerOptions, error) {
	o := &peerOptions{}
	fs := flag.NewFlagSet("statusgo-peer", flag.ContinueOnError)
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for the account's databases (required)")
	fs.Var(&o.wakuNodes, "waku-node", "multiaddr of a Waku peer (repeatable); the only peers used")
	fs.Var(&o.storeNodes, "store-node", "multiaddr of a store node (repeatable)")
	fs.StringVar(&o.mnemonic, "mnemonic", "", "restore the account from these words (else create one)")
	fs.StringVar(&o.password, "password", "pystatus-test", "database password")
	fs.StringVar(&o.displayName, "display-name", "statusgo-peer", "display name of a new account")
	fs.BoolVar(&o.light, "light", false, "light client: filter, light push and store via the given nodes")
	fs.UintVar(&o.clusterID, "cluster-id", shard.MainStatusShardCluster, "Waku cluster id")
	fs.StringVar(&o.host, "host", "127.0.0.1", "libp2p listen address")
	fs.IntVar(&o.port, "port", 0, "libp2p listen port (0: any)")
	fs.StringVar(&o.logFile, "log-file", "", "log file (default <data-dir>/statusgo.log; - for stderr)")
	fs.StringVar(&o.logLevel, "log-level", "INFO", "log level: DEBUG, INFO, WARN, ERROR")
	fs.DurationVar(&o.retrieveInterval, "retrieve-interval", time.Second, "how often the messenger processes received messages (the app uses 1s)")
	fs.BoolVar(&o.missingMessages, "missing-message-verification", false, "ask the store node for missed messages periodically")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.dataDir == "" {
		return nil, errors.New("--data-dir is required")
	}
	if o.logFile == "" {
		o.logFile = filepath.Join(o.dataDir, "statusgo.log")
	}
	return o, nil
}

// savedAccount is what this program keeps beside status-go's databases so that a restart
// with the same --data-dir is the same account and installation.
type savedAccount struct {
	Mnemonic       string `json:"mnemonic"`
	InstallationID string `json:"installationId"`
	DisplayName    string `json:"displayName"`
}

type identity struct {
	saved      savedAccount
	keyUID     string
	address    string
	chatKey    *ecdsa.PrivateKey
	chatPubHex string
	derived    map[string]generator.AccountInfo
}

func loadOrCreateIdentity(o *peerOptions) (*identity, bool, error) {
	path := filepath.Join(o.dataDir, "peer-account.json")
	var saved savedAccount
	created := false
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &saved); err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		if o.mnemonic != "" && normalizeMnemonic(o.mnemonic) != saved.Mnemonic {
			return nil, false, fmt.Errorf("%s holds another account than --mnemonic", o.dataDir)
		}
	case errors.Is(err, os.ErrNotExist):
		created = true
		saved.DisplayName = o.displayName
		saved.InstallationID = multidevice.GenerateInstallationID()
		if o.mnemonic != "" {
			saved.Mnemonic = normalizeMnemonic(o.mnemonic)
		} else {
			infos, err := generator.New(nil).Generate(12, 1, "")
			if err != nil {
				return nil, false, err
			}
			saved.Mnemonic = infos[0].Mnemonic
		}
	default:
		return nil, false, err
	}

	paths := []string{pathWalletRoot, pathDefaultWallet, pathEIP1581, pathDefaultChat, pathEncryption}
	acc, err := generator.New(nil).CreateAccountFromMnemonicAndDeriveAccountsForPaths(saved.Mnemonic, "", paths)
	if err != nil {
		return nil, false, fmt.Errorf("mnemonic: %w", err)
	}
	chat := acc.Derived[pathDefaultChat]
	chatKey, err := crypto.HexToECDSA(strings.TrimPrefix(chat.PrivateKey, "0x"))
	if err != nil {
		return nil, false, err
	}
	if created {
		out, err := json.MarshalIndent(saved, "", "  ")
		if err != nil {
			return nil, false, err
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			return nil, false, err
		}
	}
	return &identity{
		saved:      saved,
		keyUID:     acc.KeyUID,
		address:    acc.Address,
		chatKey:    chatKey,
		chatPubHex: types.EncodeHex(crypto.FromECDSAPub(&chatKey.PublicKey)),
		derived:    acc.Derived,
	}, created, nil
}

func normalizeMnemonic(m string) string {
	return strings.Join(strings.Fields(strings.ToLower(m)), " ")
}

// peer is the running status-go account.
type peer struct {
	opts      *peerOptions
	out       *jsonOut
	logger    *zap.Logger
	id        *identity
	appDB     *sql.DB
	walletDB  *sql.DB
	multiDB   *multiaccounts.Database
	waku      *wakuv2.Waku
	messenger *protocol.Messenger
	stopLoop  chan struct{}

	mu        sync.Mutex
	offline   bool
	lastPeers map[string]bool
	stopOnce  sync.Once
}

func runPeer(args []string) int {
	out, err := newJSONOut()
	if err != nil {
		fmt.Fprintln(os.Stderr, "statusgo-peer:", err)
		return 1
	}
	o, err := parsePeerOptions(args)
	if err != nil {
		out.event("error", obj{"error": err.Error()})
		fmt.Fprintln(os.Stderr, "statusgo-peer:", err)
		return 2
	}
	p := &peer{opts: o, out: out, lastPeers: map[string]bool{}}
	if err := p.start(); err != nil {
		out.event("error", obj{"error": err.Error()})
		fmt.Fprintln(os.Stderr, "statusgo-peer: start:", err)
		p.stop()
		return 1
	}
	out.event("ready", p.readyInfo())

	done := make(chan struct{})
	go func() {
		p.commandLoop(os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	p.stop()
	out.event("stopped", obj{})
	return 0
}

func (p *peer) readyInfo() obj {
	compressed, err := multiformat.SerializeLegacyKey(p.id.chatPubHex)
	if err != nil {
		p.logger.Warn("compressed key", zap.Error(err))
	}
	var addrs []string
	for _, a := range p.waku.ListenAddresses() {
		addrs = append(addrs, a.String())
	}
	return obj{
		"publicKey":      p.id.chatPubHex,
		"compressedKey":  compressed,
		"installationId": p.id.saved.InstallationID,
		"displayName":    p.id.saved.DisplayName,
		"keyUid":         p.id.keyUID,
		"peerId":         p.waku.PeerID().String(),
		"listenAddrs":    addrs,
		"clusterId":      p.opts.clusterID,
		"light":          p.opts.light,
		"pubsubTopic":    shard.DefaultShardPubsubTopic(),
	}
}

func (p *peer) start() error {
	o := p.opts
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	fileOpts := logutils.FileOptions{Filename: o.logFile, MaxSize: 200, MaxBackups: 1}
	if o.logFile == "-" {
		fileOpts = logutils.FileOptions{}
	}
	if err := logutils.OverrideRootLog(true, o.logLevel, fileOpts, false); err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	p.logger = logutils.ZapLogger().Named("statusgo-peer")
	msignal.SetMobileSignalHandler(p.onSignal)

	id, created, err := loadOrCreateIdentity(o)
	if err != nil {
		return err
	}
	p.id = id

	if p.appDB, err = appdatabase.InitializeDB(filepath.Join(o.dataDir, "app.db"), o.password, dbsetup.ReducedKDFIterationsNumber); err != nil {
		return fmt.Errorf("app database: %w", err)
	}
	if p.walletDB, err = walletdatabase.InitializeDB(filepath.Join(o.dataDir, "wallet.db"), o.password, dbsetup.ReducedKDFIterationsNumber); err != nil {
		return fmt.Errorf("wallet database: %w", err)
	}
	if p.multiDB, err = multiaccounts.InitializeDB(filepath.Join(o.dataDir, "accounts.sql")); err != nil {
		return fmt.Errorf("accounts database: %w", err)
	}
	account := multiaccounts.Account{
		Name:          id.saved.DisplayName,
		KeyUID:        id.keyUID,
		Timestamp:     time.Now().Unix(),
		KDFIterations: dbsetup.ReducedKDFIterationsNumber,
		Images:        []images.IdentityImage{},
	}
	if created {
		if err := p.multiDB.SaveAccount(account); err != nil {
			return fmt.Errorf("save account: %w", err)
		}
	}

	nodeConfig := p.nodeConfig()
	accountsDB, err := accounts.NewDB(p.appDB)
	if err != nil {
		return err
	}
	if _, err := accountsDB.GetSettings(); errors.Is(err, sql.ErrNoRows) {
		s, err := p.newSettings()
		if err != nil {
			return err
		}
		if err := accountsDB.CreateSettings(*s, *nodeConfig); err != nil {
			return fmt.Errorf("create settings: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := p.configureStoreNodes(accountsDB); err != nil {
		return err
	}

	wakuCfg := &wakuv2.Config{
		MaxMessageSize:          wakucommon.DefaultMaxMessageSize,
		Host:                    o.host,
		Port:                    o.port,
		LightClient:             o.light,
		WakuNodes:               o.wakuNodes,
		DiscoveryLimit:          20,
		DefaultShardPubsubTopic: shard.DefaultShardPubsubTopic(),
		// What wakuv2's setDefaults fills in when it picks the default shard itself. The app
		// sets only the default shard and learns its fleet's shards from their ENRs (DNS
		// discovery); our peers are bare multiaddrs, so without this go-waku files them under
		// /waku/2/default-waku/proto and a light client finds no filter or light push peer.
		DefaultShardedPubsubTopics:       []string{shard.DefaultShardPubsubTopic(), shard.DefaultNonProtectedPubsubTopic()},
		ClusterID:                        uint16(o.clusterID),
		EnableMissingMessageVerification: o.missingMessages,
		UseThrottledPublish:              true,
		// status-go derives these from LightClient; discv5 stays off here (no bootstrap
		// nodes), and the peer exchange client only asks peers found by DNS discovery.
		EnableDiscV5:             false,
		EnablePeerExchangeServer: false,
		EnablePeerExchangeClient: o.light,
	}
	p.waku, err = wakuv2.New(nil, "", wakuCfg, logutils.ZapLogger().Named("wakuv2"), p.appDB, nil, msignal.SendHistoricMessagesRequestFailed, p.onPeerStats)
	if err != nil {
		return fmt.Errorf("wakuv2: %w", err)
	}
	if err := p.waku.Start(); err != nil {
		return fmt.Errorf("wakuv2 start: %w", err)
	}

	monitorConfig := &transport.EnvelopesMonitorConfig{
		EnvelopeEventsHandler:            ext.EnvelopeSignalHandler{},
		MaxAttempts:                      3,
		AwaitOnlyMailServerConfirmations: true,
		IsMailserver:                     func(types.EnodeID) bool { return false },
		Logger:                           p.logger,
	}
	options := []protocol.Option{
		protocol.WithCustomLogger(logutils.ZapLogger().Named("messenger")),
		protocol.WithPushNotifications(),
		protocol.WithDatabase(p.appDB),
		protocol.WithWalletDatabase(p.walletDB),
		protocol.WithAccountManager(localAccounts{}), // communitycommands.go
		protocol.WithTokenManager(testLedger),        // ledger.go
		protocol.WithCollectiblesManager(noCollectibles{}),
		protocol.WithMultiAccounts(p.multiDB),
		protocol.WithMailserversDatabase(mailserversDB.NewDB(p.appDB)),
		protocol.WithAccount(&account),
		protocol.WithBrowserDatabase(browsers.NewDB(p.appDB)),
		protocol.WithEnvelopesMonitorConfig(monitorConfig),
		protocol.WithSignalsHandler(&ext.MessengerSignalsHandler{}),
		protocol.WithClusterConfig(nodeConfig.ClusterConfig),
		protocol.WithTorrentConfig(&nodeConfig.TorrentConfig),
		protocol.WithWalletConfig(&nodeConfig.WalletConfig),
		protocol.WithWakuService(p.waku),
		protocol.WithDatasync(),
	}
	node := gethbridge.NewNodeBridge(nil, nil, p.waku)
	p.messenger, err = protocol.NewMessenger(id.saved.DisplayName, id.chatKey, node, id.saved.InstallationID, nil, params.Version, options...)
	if err != nil {
		return fmt.Errorf("messenger: %w", err)
	}
	if err := p.messenger.InitInstallations(); err != nil {
		return fmt.Errorf("installations: %w", err)
	}
	if _, err := p.messenger.Start(); err != nil {
		return fmt.Errorf("messenger start: %w", err)
	}
	p.stopLoop = make(chan struct{})
	p.messenger.StartRetrieveMessagesLoop(o.retrieveInterval, p.stopLoop)
	return nil
}

// nodeConfig is what is stored in the settings table beside the account: a record of this
// peer's Waku set-up (status-go reads it back only through its backend, which we do not use).
func (p *peer) nodeConfig() *params.NodeConfig {
	o := p.opts
	c := &params.NodeConfig{}
	c.Name = "StatusIM"
	c.RootDataDir = o.dataDir
	c.DataDir = o.dataDir
	c.NoDiscovery = true
	c.WakuV2Config = params.WakuV2Config{
		Enabled:        true,
		Host:           o.host,
		Port:           o.port,
		LightClient:    o.light,
		DiscoveryLimit: 20,
	}
	c.ClusterConfig = params.ClusterConfig{
		Enabled:   true,
		Fleet:     fleetName,
		WakuNodes: o.wakuNodes,
		ClusterID: uint16(o.clusterID),
	}
	c.ShhextConfig = params.ShhextConfig{
		InstallationID:             p.id.saved.InstallationID,
		MaxMessageDeliveryAttempts: 3,
		MailServerConfirmations:    true,
		DataSyncEnabled:            true,
		PFSEnabled:                 true,
	}
	c.TorrentConfig = params.TorrentConfig{
		Enabled:    false,
		DataDir:    filepath.Join(o.dataDir, "archivedata"),
		TorrentDir: filepath.Join(o.dataDir, "torrents"),
	}
	return c
}

func (p *peer) newSettings() (*settings.Settings, error) {
	id := p.id
	name, err := alias.GenerateFromPublicKeyString(id.chatPubHex)
	if err != nil {
		return nil, err
	}
	networks := json.RawMessage("[]")
	status := json.RawMessage(fmt.Sprintf(`{"publicKey":%q,"statusType":1,"clock":0,"text":""}`, id.chatPubHex))
	fleet := fleetName
	s := &settings.Settings{
		KeyUID:                    id.keyUID,
		Address:                   types.HexToAddress(id.address),
		WalletRootAddress:         types.HexToAddress(id.derived[pathWalletRoot].Address),
		DappsAddress:              types.HexToAddress(id.derived[pathDefaultWallet].Address),
		EIP1581Address:            types.HexToAddress(id.derived[pathEIP1581].Address),
		Name:                      name,
		PublicKey:                 id.chatPubHex,
		DisplayName:               id.saved.DisplayName,
		InstallationID:            id.saved.InstallationID,
		SigningPhrase:             "pystatus interop peer",
		Currency:                  "usd",
		CurrentNetwork:            "mainnet_rpc",
		Networks:                  &networks,
		CurrentUserStatus:         &status,
		PreviewPrivacy:            true,
		ProfilePicturesShowTo:     settings.ProfilePicturesShowToEveryone,
		ProfilePicturesVisibility: settings.ProfilePicturesVisibilityEveryone,
		URLUnfurlingMode:          settings.URLUnfurlingAlwaysAsk,
		Fleet:                     &fleet,
	}
	return s, nil
}

// configureStoreNodes makes the --store-node multiaddrs the only store nodes status-go knows
// (custom mail servers of our private fleet), the first one pinned.
func (p *peer) configureStoreNodes(accountsDB *accounts.Database) error {
	db := mailserversDB.NewDB(p.appDB)
	existing, err := db.Mailservers()
	if err != nil {
		return err
	}
	for _, ms := range existing {
		if err := db.Delete(ms.ID); err != nil {
			return err
		}
	}
	pinned := map[string]string{}
	for i, addr := range p.opts.storeNodes {
		ma, err := multiaddr.NewMultiaddr(addr)
		if err != nil {
			return fmt.Errorf("--store-node %s: %w", addr, err)
		}
		ms := mailserversDB.Mailserver{
			ID:     fmt.Sprintf("store-%d", i),
			Name:   fmt.Sprintf("pystatus store %d", i),
			Custom: true,
			Addr:   &ma,
			Fleet:  fleetName,
		}
		if err := db.Add(ms); err != nil {
			return err
		}
		if i == 0 {
			pinned[fleetName] = ms.ID
		}
	}
	if err := accountsDB.SetPinnedMailservers(pinned); err != nil {
		return err
	}
	if err := accountsDB.SaveSettingField(settings.Fleet, fleetName); err != nil {
		return err
	}
	return accountsDB.SaveSettingField(settings.UseMailservers, len(p.opts.storeNodes) > 0)
}

func (p *peer) stop() {
	p.stopOnce.Do(func() {
		if p.stopLoop != nil {
			close(p.stopLoop)
		}
		if p.messenger != nil {
			if err := p.messenger.Shutdown(); err != nil {
				p.logger.Warn("messenger shutdown", zap.Error(err))
			}
		}
		if p.waku != nil {
			if err := p.waku.Stop(); err != nil {
				p.logger.Warn("waku stop", zap.Error(err))
			}
		}
		for _, db := range []*sql.DB{p.appDB, p.walletDB} {
			if db != nil {
				_ = db.Close()
			}
		}
		if p.multiDB != nil {
			_ = p.multiDB.Close()
		}
	})
}

func (p *peer) commandLoop(in *os.File) {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" {
			continue
		}
		var req map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			p.out.emit(obj{"ok": false, "error": "bad JSON: " + err.Error()})
			continue
		}
		var id any
		if raw, ok := req["id"]; ok {
			_ = json.Unmarshal(raw, &id)
		}
		var name string
		_ = json.Unmarshal(req["cmd"], &name)
		if name == "stop" {
			p.out.emit(obj{"id": id, "ok": true})
			return
		}
		// Commands run one at a time, in order, as a test script expects.
		result, err := p.dispatch(context.Background(), name, args(req))
		reply := obj{"id": id, "ok": err == nil}
		if err != nil {
			reply["error"] = err.Error()
		} else {
			for k, v := range result {
				reply[k] = v
			}
		}
		p.out.emit(reply)
	}
}

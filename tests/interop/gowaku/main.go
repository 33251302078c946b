// Command gowaku-peer runs go-waku nodes (the version status-go v1.1.0 embeds) inside one
// process for pystatus's interop tests and benches. Commands arrive as JSON lines on stdin
// ({"id": n, "cmd": ..., ...}); replies ({"id": n, "ok": true|false, ...}) and events
// ({"event": ...}) leave as JSON lines on stdout. It starts with no node at all: "start"
// creates one and answers its index, so one process can hold a whole line of nodes.
// The commands are listed in README.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func main() {
	logLevel := flag.String("log-level", "error", "go-waku's log level on stderr (debug, info, warn, error)")
	flag.Parse()
	out, err := newJSONOut()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gowaku-peer:", err)
		os.Exit(1)
	}
	level, err := zapcore.ParseLevel(*logLevel)
	if err != nil {
		out.event("error", obj{"error": err.Error()})
		os.Exit(2)
	}
	config := zap.NewProductionConfig()
	config.Level = zap.NewAtomicLevelAt(level)
	config.OutputPaths = []string{"stderr"}
	config.Sampling = nil
	logger, err := config.Build()
	if err != nil {
		out.event("error", obj{"error": err.Error()})
		os.Exit(1)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	peer := newPeer(ctx, out, logger)
	out.event("ready", obj{"version": goWakuVersion})
	peer.serve(ctx, cancel)
	peer.stopAll()
}

// serve answers commands in order of arrival, each in its own goroutine, so a slow one (a
// store query, a flood) does not hold up the rest. "stop" ends the process.
func (p *peer) serve(ctx context.Context, cancel context.CancelFunc) {
	lines := make(chan []byte)
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		scanner.Buffer(make([]byte, 1<<20), 64<<20)
		for scanner.Scan() {
			lines <- append([]byte(nil), scanner.Bytes()...)
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case line, ok := <-lines:
			if !ok {
				return
			}
			var req request
			if err := json.Unmarshal(line, &req); err != nil {
				p.out.event("bad_command", obj{"error": err.Error()})
				continue
			}
			if req.Cmd == "stop" {
				p.stopAll()
				p.out.emit(obj{"id": req.ID, "ok": true})
				cancel()
				return
			}
			go p.run(ctx, req)
		}
	}
}

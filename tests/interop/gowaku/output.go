package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// jsonOut writes one JSON object per line on the real stdout. Whatever else writes to fd 1
// goes to stderr instead, so stdout stays parseable.
type jsonOut struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newJSONOut() (*jsonOut, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("dup stdout: %w", err)
	}
	if err := unix.Dup2(2, 1); err != nil {
		return nil, fmt.Errorf("redirect stdout to stderr: %w", err)
	}
	enc := json.NewEncoder(os.NewFile(uintptr(fd), "json-out"))
	enc.SetEscapeHTML(false)
	return &jsonOut{enc: enc}, nil
}

func (o *jsonOut) emit(v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.enc.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "gowaku-peer: cannot write to stdout:", err)
	}
}

type obj = map[string]any

func (o *jsonOut) event(name string, fields obj) {
	out := obj{"event": name}
	for k, v := range fields {
		out[k] = v
	}
	o.emit(out)
}

// Command statusgo-peer runs one status-go v1.1.0 account (its Messenger over its wakuv2
// node) that pystatus's interop tests drive through JSON lines: commands on stdin, replies
// and events on stdout. Its only Waku peers are the multiaddrs it is given: no fleet, no DNS
// discovery, no discv5, no peer exchange bootstrap.
//
// `statusgo-peer vectors` prints known-answer vectors computed with status-go's own code.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "vectors" {
		if err := runVectors(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "vectors:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(runPeer(os.Args[1:]))
}

module pystatus.test/segmentation

go 1.21

// The versions status-go v1.1.0's go.mod resolves to.
require (
	github.com/golang/protobuf v1.5.3
	github.com/klauspost/reedsolomon v1.12.1
	golang.org/x/crypto v0.23.0
	google.golang.org/protobuf v1.34.1
)

require (
	github.com/klauspost/cpuid/v2 v2.2.7 // indirect
	golang.org/x/sys v0.20.0 // indirect
)

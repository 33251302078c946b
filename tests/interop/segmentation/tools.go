//go:build tools

// Pins the protobuf code generator used for segmentpb/ to the module's google.golang.org/protobuf.
package main

import _ "google.golang.org/protobuf/cmd/protoc-gen-go"

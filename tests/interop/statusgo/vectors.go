package main

import "errors"

func runVectors(args []string) error {
	return errors.New("not implemented yet")
}

//go:build !linux

package main

// dropExecPages: only Linux (pages_linux.go).
func dropExecPages() {}

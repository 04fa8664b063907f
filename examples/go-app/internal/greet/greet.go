// Package greet makes the greetings.
package greet

import "strings"

// Greeting returns the greeting for name.
func Greeting(name string) string {
	return "Hello, " + strings.TrimSpace(name) + "!"
}

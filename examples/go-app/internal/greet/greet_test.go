package greet

import "testing"

func TestGreeting(t *testing.T) {
	if got := Greeting(" gopher "); got != "Hello, gopher!" {
		t.Fatalf("Greeting: %q", got)
	}
}

// Command hello greets its arguments; the example's service.
package main

import (
	"fmt"
	"os"
	"runtime"

	"example.com/hello/internal/greet"
)

var version = "dev"

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{"there"}
	}
	for _, n := range names {
		fmt.Println(greet.Greeting(n))
	}
	fmt.Printf("hello %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Wrapper so popeye v0.22.1 can be built from the Go module proxy
// (`go install github.com/derailed/popeye@v0.22.1` fails here). Mirrors
// popeye's own main.go at v0.22.1.
package main

import (
	"github.com/derailed/popeye/cmd"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	cmd.Execute()
}

//go:build tools

// A blank import keeps the workflow-controller main package in this module's build list.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
)

//go:build tools

// Blank imports keep the workflow-controller and argoexec main packages in this module's build list.
package tools

import (
	_ "github.com/argoproj/argo-workflows/v3/cmd/argoexec"
	_ "github.com/argoproj/argo-workflows/v3/cmd/workflow-controller"
)

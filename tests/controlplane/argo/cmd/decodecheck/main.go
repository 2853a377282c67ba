// Command decodecheck decodes Argo configuration exactly as the Argo release this module pins
// does, for tests/integration/test_go_decoding.py (the oracle for argodoctor/argo/go_decode.py).
//
//	decodecheck config      one JSON object per stdin line: a workflow-controller ConfigMap's
//	                        `data`; decoded by config.Controller.Get (config/controller.go
//	                        parseConfigMap: the `config` key, or every key joined into one YAML
//	                        text, then sigs.k8s.io/yaml UnmarshalStrict into config.Config), which
//	                        reads it from a fake clientset (Argo v4 has no Parse)
//	decodecheck repository  one JSON string per stdin line: an `artifact-repositories` entry;
//	                        decoded as workflow/artifactrepositories/artifactrepositories.go
//	                        does (yaml.Unmarshal into a v1alpha1.ArtifactRepository, not strict);
//	                        its output also carries the decoded repository, json.Marshal'ed ("value")
//	decodecheck schema V    the struct tree encoding/json decodes into, as JSON (schema.go)
//
// Each input line gets one output line: {"ok":true} or {"error":"<the decoder's error>"}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/argoproj/argo-workflows/v3/config"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: decodecheck config|repository|schema VERSION")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "schema":
		version := "unknown"
		if len(os.Args) > 2 {
			version = os.Args[2]
		}
		dumpSchema(version)
		return
	case "config", "repository":
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", os.Args[1])
		os.Exit(2)
	}
	ctx := context.Background()
	meta := metav1.ObjectMeta{Namespace: "argo", Name: "workflow-controller-configmap"}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var err error
		var value any
		if os.Args[1] == "config" {
			var data map[string]string
			if err = json.Unmarshal(in.Bytes(), &data); err != nil {
				fmt.Fprintln(os.Stderr, "bad input line:", err)
				os.Exit(2)
			}
			clientset := fake.NewSimpleClientset(&apiv1.ConfigMap{ObjectMeta: meta, Data: data})
			_, err = config.NewController(meta.Namespace, meta.Name, clientset).Get(ctx)
		} else {
			var text string
			if err = json.Unmarshal(in.Bytes(), &text); err != nil {
				fmt.Fprintln(os.Stderr, "bad input line:", err)
				os.Exit(2)
			}
			repo := &wfv1.ArtifactRepository{}
			if err = yaml.Unmarshal([]byte(text), repo); err == nil {
				value = repo
			}
		}
		result := map[string]any{"ok": true}
		if value != nil {
			result["value"] = value
		}
		if err != nil {
			result = map[string]any{"error": err.Error()}
		}
		if e := enc.Encode(result); e != nil {
			fmt.Fprintln(os.Stderr, e)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// psa-check evaluates pod templates with the upstream Pod Security Admission library
// (k8s.io/pod-security-admission), the same code the API server runs. It reads a JSON
// array of {"name", "level", "metadata", "spec"} on stdin and prints one line per
// forbidden check: "NAME: REASON: DETAIL". Exit 0 when every pod passes its level, 1 when
// one does not, 2 on bad input.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

type podInput struct {
	Name     string            `json:"name"`
	Level    string            `json:"level"`
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     corev1.PodSpec    `json:"spec"`
}

func main() {
	var pods []podInput
	if err := json.NewDecoder(os.Stdin).Decode(&pods); err != nil {
		fmt.Fprintln(os.Stderr, "psa-check: cannot read input:", err)
		os.Exit(2)
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "psa-check:", err)
		os.Exit(2)
	}
	failed := false
	for i := range pods {
		level, err := api.ParseLevel(pods[i].Level)
		if err != nil {
			fmt.Fprintln(os.Stderr, "psa-check:", err)
			os.Exit(2)
		}
		lv := api.LevelVersion{Level: level, Version: api.LatestVersion()}
		for _, r := range evaluator.EvaluatePod(lv, &pods[i].Metadata, &pods[i].Spec) {
			if !r.Allowed {
				failed = true
				fmt.Printf("%s: %s: %s\n", pods[i].Name, r.ForbiddenReason, r.ForbiddenDetail)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

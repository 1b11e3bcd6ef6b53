// trust-manager's Bundle controller for the tests. The reconciliation is trust-manager's own
// (github.com/cert-manager/trust-manager/pkg/bundle, pinned in go.mod), unchanged; only the
// process wiring differs from its cmd/trust-manager/app/app.go: no webhook server (it needs
// serving certificates and the test cluster has no admission webhook for it), no leader
// election, and the metrics and health-probe listeners off, so nothing listens at all.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trustapi "github.com/cert-manager/trust-manager/pkg/apis/trust/v1alpha1"
	"github.com/cert-manager/trust-manager/pkg/bundle"
	"github.com/cert-manager/trust-manager/pkg/bundle/controller"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// The Bundle flags keep the names and defaults of trust-manager's own (options.go).
	var opts controller.Options
	flag.StringVar(&opts.Namespace, "trust-namespace", "cert-manager", "Namespace to source trust bundles from.")
	flag.StringVar(&opts.DefaultPackageLocation, "default-package-location", "", "Path to a JSON file containing the default certificate package. If set, must be a valid package.")
	flag.BoolVar(&opts.SecretTargetsEnabled, "secret-targets-enabled", false, "Controls if secret targets are enabled in the Bundle API.")
	flag.BoolVar(&opts.FilterExpiredCerts, "filter-expired-certificates", false, "Filter expired certificates from the bundle.")
	flag.BoolVar(&opts.FilterNonCACerts, "filter-non-ca-certs", false, "Filter non-CA certificates, only CAs are used in the resulting Bundle.")
	flag.Func("target-namespaces", "Comma-separated list of namespaces to limit both the manager and target caches.", func(s string) error {
		opts.TargetNamespaces = append(opts.TargetNamespaces, strings.Split(s, ",")...)
		return nil
	})
	logLevel := flag.Int("log-level", 1, "Log level (1-5).")
	// --kubeconfig is controller-runtime's own flag (pkg/client/config registers it).
	flag.Parse()
	if flag.Lookup("kubeconfig").Value.String() == "" {
		return fmt.Errorf("--kubeconfig is required")
	}

	// Logging as app.go sets it up (slog text, logr verbosity negated into slog levels), on stderr.
	log := logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.Level(-*logLevel)}))
	klog.SetLogger(log)
	ctrl.SetLogger(log)

	restConfig, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("failed to build kubernetes rest config: %w", err)
	}

	// The same scheme as app.go.
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(trustapi.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		LeaderElection:         false,
		HealthProbeBindAddress: "0",                              // "0" disables the listener
		Metrics:                server.Options{BindAddress: "0"}, // likewise
		Cache:                  bundle.CacheOpts(opts),
		// No WebhookServer: controller-runtime starts one only when GetWebhookServer is
		// called, which only app.go's webhook registration does.
	})
	if err != nil {
		return fmt.Errorf("failed to create manager: %w", err)
	}

	ctx := ctrl.SetupSignalHandler()
	ctx = logf.IntoContext(ctx, log)
	if err := bundle.SetupWithManager(ctx, mgr, opts); err != nil {
		return fmt.Errorf("failed to register Bundle controller: %w", err)
	}
	return mgr.Start(ctx)
}

package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium.
const chromiumPath = "/usr/bin/chromium"

// Browser starts a headless Debian chromium driven by chromedp, with a
// fresh profile and every background connection off (the test network is
// closed), and returns its context; it stops when the test ends. It
// fails the test with an install hint when chromium is missing. The
// appliance's certificate comes from its own test CA, which this browser
// profile does not trust: certificate errors are ignored for loopback.
func Browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Fatalf("chromium is not installed: run `make deps` or `apt-get install chromium`")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium-profile")),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	tctx, cancelRun := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelRun)
	var emulate []chromedp.EmulateViewportOption
	if width < 600 {
		emulate = append(emulate, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(int64(width), int64(height), emulate...)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return tctx
}

// Screenshot saves a PNG of the browser's viewport (the page as a person
// sees it at that size) as name in the
// directory $WARDLINE_SCREENSHOTS, when that is set (so CI does not dirty
// the tree).
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("WARDLINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		if root, err := ModuleRoot(); err == nil {
			dir = filepath.Join(root, dir)
		}
	}

	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

package appliance

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/wardline/wardline/certs"
	"github.com/wardline/wardline/store"
)

func defineAuditExport(fs *flag.FlagSet) func(*cli, []string) error {
	var since, until string
	fs.StringVar(&since, "since", "", "first time to include (RFC 3339)")
	fs.StringVar(&until, "until", "", "time to stop before (RFC 3339)")
	return func(c *cli, _ []string) error {
		q := url.Values{}
		for name, v := range map[string]string{"since": since, "until": until} {
			if v == "" {
				continue
			}
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return usagef("audit export: --%s %q is not an RFC 3339 time (2026-11-23T20:00:00Z)", name, v)
			}
			q.Set(name, v)
		}
		a, err := c.admin(true)
		if err != nil {
			return err
		}
		defer a.close()
		resp, err := a.send(c.ctx, "GET", "/v1/audit/export?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(c.stdout, resp.Body); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		if st := resp.Trailer.Get(trailerStatus); st != "ok" {
			return fmt.Errorf("audit export incomplete: %s", st)
		}
		return nil
	}
}

func defineBackup(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		dst := args[0]
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("backup: %s exists; name a new file", dst)
		}
		a, err := c.admin(true)
		if err != nil {
			return err
		}
		defer a.close()
		resp, err := a.send(c.ctx, "GET", "/v1/backup?name="+url.QueryEscape(filepath.Base(dst)), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := writeFileSynced(dst, resp.Body, func() error {
			if st := resp.Trailer.Get(trailerStatus); st != "ok" {
				return fmt.Errorf("backup failed on the appliance: %s", st)
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Backup written to %s (%d bytes, encrypted). Restoring it needs the store key file; keep the two apart.\n", dst, n)
		return nil
	}
}

// writeFileSynced writes r to a temporary file beside path (mode 0600),
// calls check once r is drained, and only then syncs and renames it into
// place: a failed or interrupted copy never leaves a file that looks whole.
func writeFileSynced(path string, r io.Reader, check func() error) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	if err := check(); err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	if err := f.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(f.Name(), path)
}

func defineRestore(fs *flag.FlagSet) func(*cli, []string) error {
	var keyFile string
	fs.StringVar(&keyFile, "key", "", "key file of the instance the backup came from (default: beside --data DIR, or store.key_file)")
	return func(c *cli, args []string) error {
		if c.dataDir == "" {
			return usagef("restore: --data DIR is required: the new, empty data directory")
		}
		cfg, err := c.settings()
		if err != nil {
			return err
		}
		if keyFile == "" {
			keyFile = cfg.Store.KeyFile
		}
		res, err := store.Restore(c.ctx, store.RestoreOptions{Backup: args[0], Dir: cfg.DataDir, KeyFile: keyFile, By: localActor(os.Getuid())})
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Restored instance %s (backup of %s) into %s; audit chain verified (%d events).\nKey file: %s\nStart it with: wardline serve --data %s\n",
			res.Info.Instance, res.Info.Created.Format(time.RFC3339), cfg.DataDir, res.AuditEvents, res.KeyFile, cfg.DataDir)
		return nil
	}
}

func defineTLSCA(*flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, _ []string) error {
		cfg, err := c.settings()
		if err != nil {
			return err
		}
		pem, err := certs.LoadCACertPEM(caDir(cfg.DataDir))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no CA in %s yet: start the appliance once ('wardline serve') to create it", caDir(cfg.DataDir))
		}
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(pem)
		return err
	}
}

// caDir is where the local CA lives in a data directory.
func caDir(dataDir string) string { return filepath.Join(dataDir, "ca") }

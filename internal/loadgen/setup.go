package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// AdminFunc calls the appliance's admin API: method and path, a JSON body
// (nil for none), and where to decode the JSON answer (nil to drop it). An
// error answer is an error carrying the API's message.
type AdminFunc func(ctx context.Context, method, path string, in, out any) error

// UserLogin is the login of the i-th bench user (from 0): bench-u00001...
func UserLogin(i int) string { return fmt.Sprintf("bench-u%05d", i+1) }

// GroupName is the name of the bench group of g members: bench-g<g>.
func GroupName(g int) string { return fmt.Sprintf("bench-g%d", g) }

// SetupReport says what Setup did.
type SetupReport struct {
	Devices      []Device `json:"-"`
	UsersCreated int      `json:"users_created"`
	Enrolled     int      `json:"devices_enrolled"`
	Cached       int      `json:"devices_cached"`
	Group        string   `json:"group,omitempty"`
	Seconds      float64  `json:"seconds"`
}

// cacheFile is the file of enrolled bench devices: instance id -> login ->
// device. It holds device secrets, so it is written with mode 0600.
type cacheFile map[string]map[string]Device

// setupConcurrency is how many admin requests Setup keeps going: the
// appliance commits them in groups, so many at once cost little more than one.
const setupConcurrency = 32

// Setup makes sure users bench-u00001... exist for n devices, each with one
// enrolled device, and, when groupSize > 0, the group bench-g<groupSize> of
// the first groupSize users. Devices enrolled before for this instance are
// taken from cachePath (and checked against the appliance's device list);
// new ones are added to it.
func Setup(ctx context.Context, admin AdminFunc, cachePath, instance string, n, groupSize int, progress io.Writer) (SetupReport, error) {
	t0 := time.Now()
	rep := SetupReport{Devices: make([]Device, n)}
	if progress == nil {
		progress = io.Discard
	}
	cache, err := loadCache(cachePath)
	if err != nil {
		return rep, err
	}
	known := cache[instance]
	if known == nil {
		known = map[string]Device{}
		cache[instance] = known
	}

	// Keep only cached devices the appliance still has, active.
	var listed []struct {
		ID      string `json:"id"`
		User    string `json:"user"`
		Revoked bool   `json:"revoked"`
	}
	if len(known) > 0 {
		if err := admin(ctx, "GET", "/v1/devices", nil, &listed); err != nil {
			return rep, fmt.Errorf("listing devices: %w", err)
		}
	}
	active := make(map[string]string, len(listed))
	for _, d := range listed {
		if !d.Revoked {
			active[d.ID] = d.User
		}
	}
	var todo []int
	for i := range n {
		login := UserLogin(i)
		if d, ok := known[login]; ok && active[d.ID] == login {
			rep.Devices[i] = d
			rep.Cached++
			continue
		}
		delete(known, login)
		todo = append(todo, i)
	}

	if len(todo) > 0 {
		fmt.Fprintf(progress, "setup: enrolling %d devices (%d cached)...\n", len(todo), rep.Cached)
	}
	var mu sync.Mutex
	var created int
	errs := forEach(ctx, todo, setupConcurrency, func(i int) error {
		login := UserLogin(i)
		err := admin(ctx, "POST", "/v1/users", map[string]string{"login": login, "name": fmt.Sprintf("Bench User %05d", i+1)}, nil)
		switch {
		case err == nil:
			mu.Lock()
			created++
			mu.Unlock()
		case !isExists(err):
			return fmt.Errorf("adding user %s: %w", login, err)
		}
		var out struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		}
		if err := admin(ctx, "POST", "/v1/devices", map[string]string{"user": login, "name": "bench"}, &out); err != nil {
			return fmt.Errorf("enrolling a device for %s: %w", login, err)
		}
		d := Device{ID: out.ID, Secret: out.Secret, User: login}
		mu.Lock()
		rep.Devices[i] = d
		known[login] = d
		mu.Unlock()
		return nil
	})
	rep.UsersCreated = created
	rep.Enrolled = len(todo) - len(errs)
	if rep.Enrolled > 0 {
		if err := saveCache(cachePath, cache); err != nil {
			return rep, err
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("%d of %d enrolments failed; the first: %w", len(errs), len(todo), errs[0])
	}

	if groupSize > 0 {
		rep.Group = GroupName(groupSize)
		members := make([]string, groupSize)
		for i := range members {
			members[i] = UserLogin(i)
		}
		err := admin(ctx, "POST", "/v1/groups", map[string]any{"name": rep.Group, "members": members}, nil)
		if err != nil && !isExists(err) {
			return rep, fmt.Errorf("adding group %s: %w", rep.Group, err)
		}
	}
	rep.Seconds = round3(time.Since(t0).Seconds())
	return rep, nil
}

// isExists reports whether an admin API error says the thing exists.
func isExists(err error) bool { return strings.Contains(err.Error(), "already exists") }

// forEach calls f for every item, at most conc at a time, and returns the
// errors. It stops starting new calls when ctx is done.
func forEach(ctx context.Context, items []int, conc int, f func(int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, conc)
	for _, it := range items {
		if ctx.Err() != nil {
			mu.Lock()
			errs = append(errs, ctx.Err())
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

func loadCache(path string) (cacheFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cacheFile{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench device cache: %w", err)
	}
	c := cacheFile{}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("bench device cache %s: %w (delete it to enrol again)", path, err)
	}
	return c, nil
}

// saveCache writes the cache with mode 0600 through a temporary file.
func saveCache(path string, c cacheFile) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".wardline-bench-*")
	if err != nil {
		return fmt.Errorf("bench device cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("bench device cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("bench device cache: %w", err)
	}
	return nil
}

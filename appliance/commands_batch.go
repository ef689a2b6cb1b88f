package appliance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// readBatch reads JSON lines from path ("-": stdin) into items of T,
// setting each one's line number; blank lines are skipped. A line that is
// not a JSON object is an error naming it.
func readBatch[T any](c *cli, path string, setLine func(*T, int)) ([]T, error) {
	var r io.Reader = c.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var item T
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&item); err != nil {
			return nil, fmt.Errorf("line %d: not a valid JSON object: %v (nothing was added)", n, err)
		}
		setLine(&item, n)
		out = append(out, item)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no lines", path)
	}
	return out, nil
}

// printLines prints each item as one JSON line.
func (c *cli) printLines(items any) error {
	b, err := json.Marshal(items)
	if err != nil {
		return err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	for _, it := range list {
		if _, err := fmt.Fprintf(c.stdout, "%s\n", it); err != nil {
			return err
		}
	}
	return nil
}

// addUserBatch runs `user add --batch FILE`.
func addUserBatch(c *cli, path string) error {
	items, err := readBatch(c, path, func(u *batchUser, n int) { u.Line = n })
	if err != nil {
		return err
	}
	if err := c.call(true, "POST", "/v1/users/batch", items, nil); err != nil {
		return fmt.Errorf("%w (nothing was added)", err)
	}
	type added struct {
		Line  int    `json:"line"`
		Login string `json:"login"`
	}
	out := make([]added, 0, len(items))
	for _, it := range items {
		out = append(out, added{it.Line, it.Login})
	}
	return c.printLines(out)
}

// enrollDeviceBatch runs `device enroll --batch FILE`.
func enrollDeviceBatch(c *cli, path string) error {
	items, err := readBatch(c, path, func(d *batchDevice, n int) { d.Line = n })
	if err != nil {
		return err
	}
	var out []batchEnrolled
	if err := c.call(true, "POST", "/v1/devices/batch", items, &out); err != nil {
		return fmt.Errorf("%w (nothing was added)", err)
	}
	return c.printLines(out)
}

package store

import "errors"

// walkFromCursor serves the retention commands (PurgeMessages,
// PurgeAlerts), which walk records in id order, and ids sort by time: it
// calls visit for the records with prefix from the one named by the
// cursor stored under cursorKey (keyOf turns an id into its key), until
// visit answers more == false or the records end, and then stores the id
// of the last record visit took as the new cursor, so that the next run
// starts there.
func walkFromCursor(tx *Txn, prefix []byte, cursorKey string, keyOf func(id string) []byte,
	visit func(key, val []byte) (id string, more bool, err error)) error {
	start := prefix
	if cur, err := tx.Get([]byte(cursorKey)); err == nil {
		start = keyOf(string(cur))
	}
	var last string
	errStop := errors.New("stop")
	err := tx.scanFrom(prefix, start, func(k, v []byte) error {
		id, more, err := visit(k, v)
		switch {
		case err != nil:
			return err
		case !more:
			return errStop
		}
		last = id
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	if last != "" {
		tx.Set([]byte(cursorKey), []byte(last))
	}
	return nil
}

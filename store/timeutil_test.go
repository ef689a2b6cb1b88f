package store

import "time"

var noTime time.Time

package appliance

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wardline/wardline/store"
)

// Status is what `wardline status` reports.
type Status struct {
	Version      string            `json:"version"`
	Instance     string            `json:"instance"`
	Running      bool              `json:"running"`
	Ready        bool              `json:"ready"`
	Started      time.Time         `json:"started,omitzero"`
	DataDir      string            `json:"data_dir"`
	Listeners    map[string]string `json:"listeners"`
	Users        int               `json:"users"`
	Store        StoreStatus       `json:"store"`
	Certificates []CertStatus      `json:"certificates"`
	MQTT         MQTTStatus        `json:"mqtt"`
	PID          int               `json:"pid,omitempty"`
	RSSBytes     int64             `json:"rss_bytes,omitempty"` // resident memory of the appliance process
	OnCall       *OnCallStatus     `json:"oncall,omitempty"`    // coverage gaps ahead and escalations (running appliance)
	Directory    *DirectoryStatus  `json:"directory,omitempty"` // AD sync, with [directory.ad]
}

// residentBytes reads this process's resident set size from /proc.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// StoreStatus is the store part of Status.
type StoreStatus struct {
	KeyID         string  `json:"key_id"`
	AuditEvents   uint64  `json:"audit_events"`
	Commits       uint64  `json:"commits"`
	Commands      uint64  `json:"commands"`
	FailedCommits uint64  `json:"failed_commits"`
	Refused       uint64  `json:"refused_disk_full"`
	SyncSeconds   float64 `json:"sync_seconds"`
	// CommitMillis counts commits by duration: "<=1", "<=2", … and ">250" milliseconds.
	CommitMillis map[string]uint64 `json:"commit_ms"`
}

// CertStatus is one managed certificate.
type CertStatus struct {
	Name     string    `json:"name"`
	NotAfter time.Time `json:"not_after"`
	Issuer   string    `json:"issuer"`
}

// MQTTStatus is the broker part of Status.
type MQTTStatus struct {
	Clients int `json:"clients"`
}

// storeStatus fills StoreStatus from the store.
func storeStatus(st *store.Store) StoreStatus {
	s := st.Stats()
	ss := StoreStatus{KeyID: st.KeyID(), AuditEvents: s.AuditSeq, Commits: s.Commits, Commands: s.Commands,
		FailedCommits: s.FailedCommits, Refused: s.Refused, SyncSeconds: s.SyncTime.Seconds(), CommitMillis: map[string]uint64{}}
	for i, n := range s.CommitTimes {
		key := ">" + strconv.Itoa(int(store.CommitBuckets[len(store.CommitBuckets)-1].Milliseconds()))
		if i < len(store.CommitBuckets) {
			key = "<=" + strconv.Itoa(int(store.CommitBuckets[i].Milliseconds()))
		}
		ss.CommitMillis[key] = n
	}
	return ss
}

// offlineStatus is the status of a stopped instance, read from its store.
func offlineStatus(cfg Config, st *store.Store) Status {
	users, _ := st.Users(context.Background())
	return Status{Version: Version, Instance: st.Instance(), DataDir: cfg.DataDir, Listeners: map[string]string{},
		Users: len(users), Store: storeStatus(st), Certificates: []CertStatus{}}
}

package directory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
	"unicode/utf8"
)

var foldCases = []struct{ in, want string }{
	{"Müller", "muller"}, {"NGUYỄN", "nguyen"}, {"Łukasz", "lukasz"}, {"Weiß", "weiss"}, {"Øster", "oster"},
	{"Çelik", "celik"}, {"Yılmaz", "yilmaz"}, {"Đặng", "dang"}, {"Zoe\u0308", "zoe"}, {"Иванова", "иванова"},
	{"a\xffb", "ab"}, {"", ""}, {"O'Brien", "o'brien"}, {"GROẞ", "gross"},
}

func TestFold(t *testing.T) {
	for _, c := range foldCases {
		if got := Fold(c.in); got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzSearchNormalization: folding is idempotent and gives valid UTF-8;
// the words of folded text are folded; a search never panics, and finds
// a user by any of their words.
func FuzzSearchNormalization(f *testing.F) {
	for _, c := range foldCases {
		f.Add(c.in, c.in)
	}
	f.Add("*)(uid=*", "a\\2a")
	f.Fuzz(func(t *testing.T, name, q string) {
		fo := Fold(name)
		if !utf8.ValidString(fo) || Fold(fo) != fo {
			t.Fatalf("Fold(%q) = %q, not idempotent or not UTF-8", name, fo)
		}
		idx := NewIndex()
		idx.Put(User{Login: "u1", Name: name, Enabled: true})
		idx.Search(q)
		for _, w := range Words(fo) {
			hits := idx.Search(w)
			if len(hits) == 0 || hits[0].User != "u1" {
				t.Fatalf("searching %q (a word of %q) found %v", w, name, hits)
			}
		}
	})
}

func TestIndexSearch(t *testing.T) {
	idx := NewIndex()
	idx.Load([]User{
		{Login: "jmuller", Name: "Müller, Jürgen", Department: "Cardiology", Title: "Nurse", Enabled: true},
		{Login: "dr.lee", Name: "Lee, Ana", Department: "Pédiatrie", Title: "Physician", Enabled: true, ADLogin: "dr.lee", UPN: "Dr.Lee@hosp.test"},
		{Login: "gone", Name: "Müller, Gone", Enabled: false},
		{Login: "obrien", Name: "O'Brien, Siobhán", Enabled: true},
	}, []string{"cardio-nurses", "icu"})
	cases := []struct {
		q    string
		want []string
	}{
		{"mull", []string{"jmuller"}}, // the disabled Müller is not found
		{"MÜL", []string{"jmuller"}},
		{"jurg", []string{"jmuller"}},
		{"cardio", []string{"jmuller", "group:cardio-nurses"}},
		{"pedi", []string{"dr.lee"}},
		{"dr.l", []string{"dr.lee"}},
		{"lee ana", []string{"dr.lee"}},
		{"lee nurse", nil},
		{"obri", []string{"obrien"}},
		{"brien", []string{"obrien"}},
		{"*)(uid=*", nil},
		{"", nil},
		{"x", nil},
	}
	for _, c := range cases {
		var got []string
		for _, h := range idx.Search(c.q) {
			if h.Group != "" {
				got = append(got, "group:"+h.Group)
			} else {
				got = append(got, h.User)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Search(%q) = %v, want %v", c.q, got, c.want)
		}
	}
	if u, ok := idx.Resolve("DR.LEE@HOSP.TEST"); !ok || u.Login != "dr.lee" {
		t.Fatalf("Resolve(UPN) = %+v, %t", u, ok)
	}
	// Disabling removes a user from search, enabling brings it back.
	idx.Put(User{Login: "jmuller", Name: "Müller, Jürgen", Enabled: false})
	if h := idx.Search("jurg"); len(h) != 0 {
		t.Fatalf("disabled user found: %v", h)
	}
	idx.Put(User{Login: "jmuller", Name: "Müller, Jürgen", Enabled: true})
	if h := idx.Search("jurg"); len(h) != 1 {
		t.Fatalf("re-enabled user not found: %v", h)
	}
}

func TestPlanSync(t *testing.T) {
	t0 := time.Unix(1000, 0)
	current := []User{
		{Login: "local.admin", Name: "Admin", Enabled: true, Source: SourceLocal},
		{Login: "jdoe", Name: "Doe", Enabled: true, Source: SourceAD, GUID: "g1", ADLogin: "jdoe", Created: t0},
		{Login: "gone", Name: "Gone", Enabled: true, Source: SourceAD, GUID: "g2", ADLogin: "gone"},
		{Login: "back", Name: "Back", Enabled: false, Disabled: "disabled in AD", Source: SourceAD, GUID: "g3", ADLogin: "back"},
	}
	ad := []User{
		{Login: "jane.doe", Name: "Doe, Jane", Enabled: true, Source: SourceAD, GUID: "g1", ADLogin: "jane.doe"}, // renamed
		{Login: "back", Name: "Back", Enabled: true, Source: SourceAD, GUID: "g3", ADLogin: "back"},
		{Login: "local.admin", Name: "Impostor", Enabled: true, Source: SourceAD, GUID: "g4abcdef99", ADLogin: "local.admin"},
		{Login: "new", Name: "New", Enabled: true, Source: SourceAD, GUID: "g5", ADLogin: "new"},
	}
	p := PlanSync(current, ad, map[string]string{"g5": "g1"})
	got := map[string]UserChange{}
	for _, c := range p.Changes {
		got[c.User.Login] = c
	}
	if c := got["jdoe"]; c.Kind != ChangeUpdate || c.User.ADLogin != "jane.doe" || !c.User.Created.Equal(t0) {
		t.Errorf("rename: %+v (keeps the login jdoe)", c)
	}
	if c := got["gone"]; c.Kind != ChangeDisable || c.User.Disabled != ReasonDeleted {
		t.Errorf("deleted: %+v", c)
	}
	if c := got["back"]; c.Kind != ChangeEnable {
		t.Errorf("re-enabled: %+v", c)
	}
	if c := got["local.admin-g4abcdef"]; c.Kind != ChangeCreate || len(p.Conflicts) != 1 {
		t.Errorf("conflict with a local user: %+v, conflicts %v", c, p.Conflicts)
	}
	if c := got["new"]; c.Kind != ChangeCreate || c.User.Manager != "jdoe" {
		t.Errorf("new user with manager: %+v", c)
	}
	if p.Disabling != 1 || p.Enabled != 3 || p.DisableShare() != 1.0/3 {
		t.Errorf("guard counts: %d of %d", p.Disabling, p.Enabled)
	}
	if again := PlanSync(applied(current, p), ad, map[string]string{"g5": "g1"}); len(again.Changes) != 0 {
		t.Errorf("a second plan changes %v", again.Changes)
	}
}

// applied is current after the plan's changes.
func applied(current []User, p SyncPlan) []User {
	m := map[string]User{}
	for _, u := range current {
		m[u.Login] = u
	}
	for _, c := range p.Changes {
		m[c.User.Login] = c.User
	}
	out := []User{}
	for _, u := range m {
		out = append(out, u)
	}
	return out
}

// benchUsers makes n users with names and departments like a hospital's.
func benchUsers(n int) []User {
	given := []string{"Anna", "Jürgen", "Zoë", "José", "François", "Łukasz", "Søren", "Mehmet", "Siobhán", "Minh", "Chloé", "Björn"}
	sur := []string{"Müller", "Nguyễn", "Schmidt", "O'Brien", "García", "Øster", "Çelik", "Kowalski", "Lefèvre", "Đặng", "Weiß", "Yılmaz"}
	depts := []string{"Cardiology", "Notaufnahme", "Pédiatrie", "Radiology", "Oncology", "Intensivstation", "Pharmacy"}
	r := rand.New(rand.NewPCG(1, 2))
	users := make([]User, n)
	for i := range users {
		users[i] = User{Login: fmt.Sprintf("u%06d", i), Name: sur[r.IntN(len(sur))] + fmt.Sprintf("%d, ", i%97) + given[r.IntN(len(given))],
			Department: depts[r.IntN(len(depts))], Title: "Nurse", Enabled: r.IntN(20) != 0}
	}
	return users
}

// BenchmarkSearch50k searches an index of 50,000 users and 1,000 groups with queries of one
// to four letters (the worst: many matches) and whole words, and reports
// the 99th percentile latency.
func BenchmarkSearch50k(b *testing.B) {
	idx := NewIndex()
	groups := make([]string, 1000)
	for i := range groups {
		groups[i] = fmt.Sprintf("g%04d-cardiology", i)
	}
	idx.Load(benchUsers(50000), groups)
	queries := []string{"m", "mu", "mül", "nguy", "card", "jürgen", "o'b", "u0123", "pedi", "schmidt4", "zoe", "lef ch"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		idx.Search(queries[i%len(queries)])
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
}

// BenchmarkIndexLoad50k builds the index of 50,000 users (at start and
// after each sync that wrote users).
func BenchmarkIndexLoad50k(b *testing.B) {
	users := benchUsers(50000)
	idx := NewIndex()
	for b.Loop() {
		idx.Load(users, nil)
	}
}

func TestDepartments(t *testing.T) {
	got := Departments([]User{{Department: "ICU", Enabled: true}, {Department: "Cardiology", Enabled: true},
		{Department: "ICU", Enabled: true}, {Department: "Gone", Enabled: false}, {Enabled: true}})
	if !slices.Equal(got, []string{"Cardiology", "ICU"}) {
		t.Fatalf("Departments = %v", got)
	}
}

package directory

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// MaxResults is the most hits one search returns.
const MaxResults = 50

// Hit is one search result: a user, or a group.
type Hit struct {
	User       string `json:"user,omitempty"`
	Group      string `json:"group,omitempty"`
	Name       string `json:"name,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// Index answers directory searches from memory: a prefix of any word of a
// user's name, or of the login, the department or the title, ignoring case
// and accents; disabled users are not found. It also resolves the names a
// user signs in with (login, AD login, UPN, e-mail). It is safe for
// concurrent use; the appliance keeps it current with Put after every
// change of a user.
type Index struct {
	mu     sync.RWMutex
	users  map[string]*indexed // by login, enabled or not
	alias  map[string]string   // folded sign-in name -> login
	groups []groupName         // sorted by folded name
	// words is the sorted list of distinct words; posting[w] lists the
	// enabled users (logins) that have word w, sorted.
	words   []string
	posting map[string][]string
}

// groupName is a group as search finds it.
type groupName struct{ folded, name string }

// newGroups returns the sorted group list of names.
func newGroups(names []string) []groupName {
	out := make([]groupName, 0, len(names))
	for _, n := range names {
		out = append(out, groupName{Fold(n), n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].folded < out[j].folded })
	return out
}

// indexed is one user as the index holds it.
type indexed struct {
	user  User
	words []string // folded words of login, name, department, title
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{users: map[string]*indexed{}, alias: map[string]string{}, posting: map[string][]string{}}
}

// userWords are the words a user is found by.
func userWords(u User) []string {
	var out []string
	for _, f := range []string{u.Login, u.Name, u.Department, u.Title} {
		ff := Fold(f)
		if f == u.Login && ff != "" {
			out = appendNew(out, ff) // the whole login too: "dr.lee" by "dr.l"
		}
		for _, w := range Words(ff) {
			out = appendNew(out, w)
		}
	}
	return out
}

// signinNames are the names a user may sign in with.
func signinNames(u User) []string {
	out := []string{u.Login}
	for _, n := range []string{u.ADLogin, u.UPN, u.Email} {
		if n != "" {
			out = append(out, strings.ToLower(n))
		}
	}
	return out
}

// Load replaces the whole index with users and group names.
func (x *Index) Load(users []User, groups []string) {
	idx := NewIndex()
	byWord := map[string][]string{}
	for _, u := range users {
		e := &indexed{user: u, words: userWords(u)}
		idx.users[u.Login] = e
		for _, n := range signinNames(u) {
			idx.alias[n] = u.Login
		}
		if u.Enabled {
			for _, w := range e.words {
				byWord[w] = append(byWord[w], u.Login)
			}
		}
	}
	for w, logins := range byWord {
		slices.Sort(logins)
		idx.posting[w] = logins
		idx.words = append(idx.words, w)
	}
	slices.Sort(idx.words)
	idx.groups = newGroups(groups)
	x.mu.Lock()
	x.users, x.alias, x.groups, x.words, x.posting = idx.users, idx.alias, idx.groups, idx.words, idx.posting
	x.mu.Unlock()
}

// Put adds or replaces users (found again by their Login).
func (x *Index) Put(users ...User) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, u := range users {
		x.remove(u.Login)
		e := &indexed{user: u, words: userWords(u)}
		x.users[u.Login] = e
		for _, n := range signinNames(u) {
			x.alias[n] = u.Login
		}
		if !u.Enabled {
			continue
		}
		for _, w := range e.words {
			p, ok := x.posting[w]
			if !ok {
				i, _ := slices.BinarySearch(x.words, w)
				x.words = slices.Insert(x.words, i, w)
			}
			i, found := slices.BinarySearch(p, u.Login)
			if !found {
				x.posting[w] = slices.Insert(p, i, u.Login)
			}
		}
	}
}

// remove drops a user's entries; x.mu is held.
func (x *Index) remove(login string) {
	e, ok := x.users[login]
	if !ok {
		return
	}
	delete(x.users, login)
	for _, n := range signinNames(e.user) {
		if x.alias[n] == login {
			delete(x.alias, n)
		}
	}
	for _, w := range e.words {
		p := x.posting[w]
		if i, found := slices.BinarySearch(p, login); found {
			p = slices.Delete(p, i, i+1)
		}
		if len(p) > 0 {
			x.posting[w] = p
			continue
		}
		delete(x.posting, w)
		if i, found := slices.BinarySearch(x.words, w); found {
			x.words = slices.Delete(x.words, i, i+1)
		}
	}
}

// SetGroups replaces the group names that search finds.
func (x *Index) SetGroups(names []string) {
	g := newGroups(names)
	x.mu.Lock()
	x.groups = g
	x.mu.Unlock()
}

// Resolve returns the user who signs in as name (login, AD login, UPN or
// e-mail, in any case), enabled or not.
func (x *Index) Resolve(name string) (User, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	login, ok := x.alias[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return User{}, false
	}
	return x.users[login].user, true
}

// Len returns how many users the index holds, and how many are enabled.
func (x *Index) Len() (all, enabled int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, e := range x.users {
		if e.user.Enabled {
			enabled++
		}
	}
	return len(x.users), enabled
}

// Search returns up to MaxResults enabled users every word of q starts a
// word of, ordered by name, then the groups whose names start with q.
func (x *Index) Search(q string) []Hit {
	words := Words(Fold(q))
	out := []Hit{}
	if len(words) == 0 {
		return out
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	// Walk the postings of the query word that matches the fewest users,
	// and check the other words against each candidate.
	best, bestN := 0, -1
	for i, w := range words {
		n := 0
		lo, hi := x.prefixRange(w)
		for _, t := range x.words[lo:hi] {
			n += len(x.posting[t])
		}
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	seen := make(map[string]bool, 2*MaxResults)
	var found []*indexed
	lo, hi := x.prefixRange(words[best])
collect:
	for _, t := range x.words[lo:hi] {
		for _, login := range x.posting[t] {
			if seen[login] {
				continue
			}
			seen[login] = true
			e := x.users[login]
			if matchesAll(e.words, words, best) {
				found = append(found, e)
				if len(found) == MaxResults {
					break collect
				}
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].user.Name != found[j].user.Name {
			return found[i].user.Name < found[j].user.Name
		}
		return found[i].user.Login < found[j].user.Login
	})
	for _, e := range found {
		out = append(out, Hit{User: e.user.Login, Name: e.user.Name, Department: e.user.Department, Title: e.user.Title})
	}
	fq := Fold(strings.TrimSpace(q))
	for i := sort.Search(len(x.groups), func(i int) bool { return x.groups[i].folded >= fq }); i < len(x.groups) &&
		strings.HasPrefix(x.groups[i].folded, fq) && len(out) < 2*MaxResults; i++ {
		out = append(out, Hit{Group: x.groups[i].name})
	}
	return out
}

// prefixRange returns the range of x.words that start with p.
func (x *Index) prefixRange(p string) (int, int) {
	// Every word that starts with p sorts before p+"\xff" (0xff never
	// occurs in UTF-8).
	return sort.SearchStrings(x.words, p), sort.SearchStrings(x.words, p+"\xff")
}

// matchesAll reports whether every query word but skip starts one of have.
func matchesAll(have, query []string, skip int) bool {
	for i, q := range query {
		if i == skip {
			continue
		}
		ok := false
		for _, h := range have {
			if strings.HasPrefix(h, q) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

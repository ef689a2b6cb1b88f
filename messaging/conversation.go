package messaging

import "slices"

// directSep joins the two logins of a direct conversation's key. Logins
// hold only letters, digits, '.', '-' and '_', so it cannot appear in one.
const directSep = ":"

// DirectKey returns the canonical key of the one-to-one conversation
// between logins a and b: the same for (a, b) and (b, a), and different for
// any other pair of valid logins.
func DirectKey(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return a + directSep + b
}

// IsMember reports whether login is a member of conversation c.
func IsMember(c Conversation, login string) bool {
	return login != "" && slices.Contains(c.Members, login)
}

// Members returns the members of a new conversation: the sender and the
// recipients, sorted and without duplicates.
func Members(sender string, recipients []string) []string {
	m := append([]string{sender}, recipients...)
	slices.Sort(m)
	return slices.Compact(m)
}

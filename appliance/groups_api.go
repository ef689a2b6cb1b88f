package appliance

import (
	"net/http"
	"strings"

	"github.com/wardline/wardline/directory"
	"github.com/wardline/wardline/messaging"
	"github.com/wardline/wardline/store"
)

// groupRequest is the body of POST /v1/groups and /v1/roles.
type groupRequest struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// membersRequest is the body of POST /v1/groups/{name}/members.
type membersRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// groupName checks and normalizes a group or role name.
func groupName(name string) (string, error) {
	n, ok := messaging.NormalizeName(name)
	if !ok {
		return "", &directory.FieldError{Field: "name", Reason: "must be 1 to 64 characters of letters, digits, '.', '-' and '_'"}
	}
	return n, nil
}

func (a *adminAPI) addGroup(role bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in groupRequest
		if err := readJSON(r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		name, err := groupName(in.Name)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := a.store.Apply(r.Context(), store.AddGroup{By: actorFrom(r.Context()), Name: name, Members: in.Members, Role: role}); err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"name": name})
	}
}

func (a *adminAPI) changeMembers(role bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in membersRequest
		if err := readJSON(r, &in); err != nil {
			a.writeError(w, r, err)
			return
		}
		name, err := groupName(r.PathValue("name"))
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		remove := make([]string, 0, len(in.Remove))
		for _, m := range in.Remove {
			remove = append(remove, strings.ToLower(strings.TrimSpace(m)))
		}
		if err := a.store.Apply(r.Context(), store.ChangeMembers{By: actorFrom(r.Context()), Name: name, Role: role, Add: in.Add, Remove: remove}); err != nil {
			a.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"name": name})
	}
}

func (a *adminAPI) listGroups(role bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		groups, err := a.store.Groups(r.Context(), role)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if groups == nil {
			groups = []store.Group{}
		}
		writeJSON(w, http.StatusOK, groups)
	}
}

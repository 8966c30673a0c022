package auth

import (
	"errors"
	"slices"
	"testing"
)

func TestRoleSatisfies(t *testing.T) {
	for _, tc := range []struct {
		have, need Role
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleTrainer, true},
		{RoleTrainer, RoleTrainer, true},
		{RoleTrainer, RoleAdmin, false},
		{"", RoleTrainer, false},
		{"owner", RoleTrainer, false},
		{RoleAdmin, "", false},
		{RoleAdmin, "owner", false},
	} {
		if got := tc.have.Satisfies(tc.need); got != tc.want {
			t.Errorf("%q.Satisfies(%q) = %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
	if _, err := ParseRole("superuser"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseRole(superuser) error %v, want ErrInvalid", err)
	}
	if r, err := ParseRole("trainer"); r != RoleTrainer || err != nil {
		t.Errorf("ParseRole(trainer) = %q, %v", r, err)
	}
}

func TestPrincipalCan(t *testing.T) {
	user := &Principal{Kind: KindUser, Roles: map[string]Role{"ac-lyon": RoleAdmin, "ac-paris": RoleTrainer}}
	root := &Principal{Kind: KindRoot, Root: true}
	rootUser := &Principal{Kind: KindUser, Root: true}
	learner := &Principal{Kind: KindUser}
	var nobody *Principal
	for _, tc := range []struct {
		p      *Principal
		issuer string
		need   Role
		want   bool
	}{
		{user, "ac-lyon", RoleAdmin, true},
		{user, "ac-lyon", RoleTrainer, true},
		{user, "ac-paris", RoleTrainer, true},
		{user, "ac-paris", RoleAdmin, false},
		{user, "ac-nice", RoleTrainer, false},
		{user, "", RoleTrainer, false},
		{root, "ac-nice", RoleAdmin, true},
		{rootUser, "anything", RoleAdmin, true},
		{learner, "ac-lyon", RoleTrainer, false},
		{nobody, "ac-lyon", RoleTrainer, false},
	} {
		if got := tc.p.Can(tc.issuer, tc.need); got != tc.want {
			t.Errorf("%+v.Can(%q, %q) = %v, want %v", tc.p, tc.issuer, tc.need, got, tc.want)
		}
	}
}

func TestPrincipalHasScope(t *testing.T) {
	tok := &Principal{Kind: KindToken, Roles: map[string]Role{"ac-lyon": RoleTrainer}, Scopes: []string{ScopeAward}}
	if !tok.HasScope(ScopeAward) || tok.HasScope(ScopeRead) || tok.HasScope(ScopeAdmin) {
		t.Errorf("token scopes wrong: %v %v %v", tok.HasScope(ScopeAward), tok.HasScope(ScopeRead), tok.HasScope(ScopeAdmin))
	}
	for _, p := range []*Principal{{Kind: KindUser}, {Kind: KindRoot, Root: true}} {
		if !p.HasScope(ScopeAdmin) {
			t.Errorf("%s lacks a scope; users and root are limited by roles only", p.Kind)
		}
	}
	if (*Principal)(nil).HasScope(ScopeRead) {
		t.Error("nil principal has a scope")
	}
}

func TestPrincipalIsLearner(t *testing.T) {
	for _, tc := range []struct {
		p    *Principal
		want bool
	}{
		{&Principal{Kind: KindUser}, true},
		{&Principal{Kind: KindUser, Roles: map[string]Role{}}, true},
		{&Principal{Kind: KindUser, Roles: map[string]Role{"ac-lyon": RoleTrainer}}, false},
		{&Principal{Kind: KindUser, Root: true}, false},
		{&Principal{Kind: KindToken}, false},
		{&Principal{Kind: KindRoot, Root: true}, false},
		{nil, false},
	} {
		if got := tc.p.IsLearner(); got != tc.want {
			t.Errorf("%+v.IsLearner() = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes([]string{ScopeRevoke, ScopeAward, ScopeAward})
	if err != nil || !slices.Equal(got, []string{ScopeAward, ScopeRevoke}) {
		t.Errorf("ParseScopes = %v, %v; want sorted and deduplicated", got, err)
	}
	for _, bad := range [][]string{nil, {}, {"awards:read"}, {ScopeRead, ""}, {"AWARDS:WRITE"}} {
		if _, err := ParseScopes(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScopes(%q) error %v, want ErrInvalid", bad, err)
		}
	}
}

func TestAllowedScopes(t *testing.T) {
	if got, want := AllowedScopes(RoleTrainer), []string{ScopeAward, ScopeRead}; !slices.Equal(got, want) {
		t.Errorf("trainer: %v, want %v", got, want)
	}
	if got, want := AllowedScopes(RoleAdmin), []string{ScopeAward, ScopeRead, ScopeRevoke, ScopeAdmin}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("admin: %v, want %v", got, want)
	}
	if got := AllowedScopes("nobody"); len(got) != 0 {
		t.Errorf("unknown role: %v", got)
	}
}

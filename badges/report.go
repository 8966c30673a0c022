package badges

import "encoding/json"

// Verdict is the overall result of a verification.
type Verdict string

// Verdicts. Warnings means the credential is valid but something could not
// be confirmed (an issuer key not confirmed online, a status list that could
// not be fetched): the report says what.
const (
	Valid    Verdict = "valid"
	Warnings Verdict = "warnings"
	Invalid  Verdict = "invalid"
)

// Check is one step of a verification.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	// Warning marks a failed check that does not make the credential
	// invalid, only unconfirmed.
	Warning bool `json:"warning,omitempty"`
}

// Summary is what a person checking a credential wants to see at once.
type Summary struct {
	ID          string   `json:"id,omitempty"`
	Types       []string `json:"type,omitempty"`
	Name        string   `json:"name,omitempty"`
	IssuerID    string   `json:"issuerId,omitempty"`
	IssuerName  string   `json:"issuerName,omitempty"`
	Achievement string   `json:"achievement,omitempty"`
	ValidFrom   string   `json:"validFrom,omitempty"`
	ValidUntil  string   `json:"validUntil,omitempty"`
	Legacy      bool     `json:"legacy,omitempty"` // VCDM 1.1
}

// Report is the outcome of verifying one credential, with every check in
// the order it ran. Nested holds the reports of endorsements and of the
// credentials inside a CLR.
type Report struct {
	Verdict    Verdict         `json:"verdict"`
	Format     string          `json:"format,omitempty"` // json, jws, png, svg, pdf
	Summary    *Summary        `json:"summary,omitempty"`
	Checks     []Check         `json:"checks"`
	Nested     []*Report       `json:"nested,omitempty"`
	Credential json.RawMessage `json:"-"`                // the credential as verified (JSON)
	Status     string          `json:"status,omitempty"` // "revoked" or "suspended" when a status list says so
}

func (r *Report) add(name string, ok bool, msg string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Message: msg})
}

func (r *Report) warn(name, msg string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: false, Warning: true, Message: msg})
}

// finish derives the verdict from the checks.
func (r *Report) finish() *Report {
	r.Verdict = Valid
	for _, c := range r.Checks {
		switch {
		case !c.OK && !c.Warning:
			r.Verdict = Invalid
			return r
		case !c.OK:
			r.Verdict = Warnings
		}
	}
	return r
}

// Failed returns the first failed check that makes the credential invalid.
func (r *Report) Failed() (Check, bool) {
	for _, c := range r.Checks {
		if !c.OK && !c.Warning {
			return c, true
		}
	}
	return Check{}, false
}

// Check returns the named check, if it ran.
func (r *Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

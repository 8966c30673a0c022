package issuing

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/badges/dataintegrity"
	"github.com/insigne/insigne/badges/statuslist"
	"github.com/insigne/insigne/jsonld"
)

// RecipientInput names one recipient of an award.
type RecipientInput struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	DID   string `json:"did,omitempty"`
	// Evidence is added to this recipient's credential only, after the
	// award's own (a completion's course, dates and time spent).
	Evidence []EvidenceInput `json:"evidence,omitempty"`
	// CredentialID, when set, is the uuid the credential gets. A caller
	// that decided an award before issuing it can then retry without
	// risking a second credential: the id can only be stored once.
	CredentialID string `json:"credentialId,omitempty"`
}

// EvidenceInput is one piece of evidence: a narrative, a URL (an uploaded
// file's URL among them), or both.
type EvidenceInput struct {
	URL         string `json:"url,omitempty"`
	Name        string `json:"name,omitempty"`
	Narrative   string `json:"narrative,omitempty"`
	Description string `json:"description,omitempty"`
	Genre       string `json:"genre,omitempty"`
	Audience    string `json:"audience,omitempty"`
}

// AwardRequest awards one achievement to one or many recipients.
type AwardRequest struct {
	Achievement string           `json:"achievement"` // its URL or uuid
	Recipients  []RecipientInput `json:"recipients"`
	Narrative   string           `json:"narrative,omitempty"`
	Evidence    []EvidenceInput  `json:"evidence,omitempty"`
	Results     []badges.Result  `json:"results,omitempty"`
	// ActivityStartDate and ActivityEndDate date the learning itself (a
	// training session), as opposed to the award.
	ActivityStartDate *time.Time `json:"activityStartDate,omitempty"`
	ActivityEndDate   *time.Time `json:"activityEndDate,omitempty"`
}

// MaxRecipients caps one award request (a bulk job).
const MaxRecipients = 100000

// AchievementIDFrom accepts an achievement's URL or bare uuid.
func (s *Service) AchievementIDFrom(ref string) (string, error) {
	id := strings.TrimPrefix(ref, s.base+"/achievements/")
	if !IsUUID(id) {
		return "", inputErr("achievement", "must be an achievement URL of this service or its uuid")
	}
	return id, nil
}

// Prepared is an award request checked and bound to one achievement
// version, ready to run now or as a job.
type Prepared struct {
	Issuer             string
	AchievementID      string
	AchievementVersion int
	Request            AwardRequest
	// NeedsApproval: the achievement requires a second assessor, so the
	// award can only be proposed (Propose), not run.
	NeedsApproval bool

	// signer is what Prepare built, reused by Award within the same
	// request; a job (decoded from JSON) builds its own.
	signer *signer
}

// Prepare checks an award request and finds its achievement; the caller
// authorizes against Issuer before running it.
func (s *Service) Prepare(ctx context.Context, req AwardRequest) (*Prepared, error) {
	id, err := s.AchievementIDFrom(req.Achievement)
	if err != nil {
		return nil, err
	}
	a, err := s.store.Achievement(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, inputErr("achievement", "no achievement %s", id)
	}
	if err != nil {
		return nil, err
	}
	if len(req.Recipients) == 0 {
		return nil, inputErr("recipients", "at least one recipient is required")
	}
	if len(req.Recipients) > MaxRecipients {
		return nil, inputErr("recipients", "at most %d recipients in one request", MaxRecipients)
	}
	if err := checkEvidence("evidence", req.Evidence); err != nil {
		return nil, err
	}
	p := &Prepared{Issuer: a.Issuer, AchievementID: a.ID, AchievementVersion: a.Version, Request: req}
	// Build the shared part now, so that a bad narrative or result is
	// refused before a job is queued.
	g, err := s.newSigner(ctx, "", p)
	if err != nil {
		return nil, err
	}
	p.signer = g
	p.NeedsApproval = g.spec.RequireSecondAssessor
	return p, nil
}

// errNeedsApproval refuses to run an award that must be proposed.
func errNeedsApproval() error {
	return inputErr("achievement", "awards of this achievement wait for a second assessor's approval: propose the award instead")
}

// IsBulk tells whether a prepared award should run as a job.
func (s *Service) IsBulk(p *Prepared) bool { return len(p.Request.Recipients) > s.syncLimit }

func checkEvidence(field string, ev []EvidenceInput) error {
	for i, e := range ev {
		if e.URL == "" && e.Narrative == "" {
			return inputErr(fmt.Sprintf("%s[%d]", field, i), "needs a url or a narrative")
		}
		if e.URL != "" {
			if err := checkHTTPURL(fmt.Sprintf("%s[%d].url", field, i), e.URL); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkRecipient(field string, r RecipientInput) error {
	if r.CredentialID != "" && !IsUUID(r.CredentialID) {
		return inputErr(field+".credentialId", "must be a lower-case uuid")
	}
	if err := checkEvidence(field+".evidence", r.Evidence); err != nil {
		return err
	}
	if r.Email == "" && r.DID == "" {
		return inputErr(field, "needs an email or a did")
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != strings.TrimSpace(r.Email) {
			return inputErr(field+".email", "%q is not an e-mail address", r.Email)
		}
	}
	if len(r.Name) > 200 {
		return inputErr(field+".name", "is longer than 200 characters")
	}
	return nil
}

// signer holds what every credential of one award needs.
type signer struct {
	s         *Service
	iss       *Issuer
	profile   badges.Profile
	ach       badges.Achievement
	spec      AchievementSpec
	achID     string
	version   int
	vm        string
	key       ed25519.PrivateKey
	req       AwardRequest
	evidence  []badges.Evidence
	validFrom time.Time
	actor     string
	tpl       *badges.Template
	di        *dataintegrity.Signer

	// shapes: the credentials' RDF compiled once per arrangement of
	// their varying parts (see canonical).
	mu     sync.Mutex
	shapes map[string]*jsonld.Shape
}

func (s *Service) newSigner(ctx context.Context, actor string, p *Prepared) (*signer, error) {
	a, err := s.store.AchievementVersion(ctx, p.AchievementID, p.AchievementVersion)
	if err != nil {
		return nil, err
	}
	iss, err := s.store.Issuer(ctx, a.Issuer)
	if err != nil {
		return nil, err
	}
	spec, err := a.Spec()
	if err != nil {
		return nil, err
	}
	k, kp, err := s.activeKey(ctx, iss.Slug, PurposeDI)
	if err != nil {
		return nil, err
	}
	priv, ok := kp.Private.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("issuer %s: data integrity key is not Ed25519", iss.Slug)
	}
	ev := make([]badges.Evidence, 0, len(p.Request.Evidence))
	for _, e := range p.Request.Evidence {
		ev = append(ev, badges.Evidence{ID: e.URL, Type: []string{"Evidence"}, Name: e.Name, Narrative: e.Narrative,
			Description: e.Description, Genre: e.Genre, Audience: e.Audience})
	}
	// Seconds only: credentials carry dates to the second.
	now := s.now().UTC().Truncate(time.Second)
	g := &signer{s: s, iss: iss, profile: s.profile(iss), ach: s.achievementDoc(a.ID, iss, spec), spec: spec,
		achID: a.ID, version: a.Version, vm: s.verificationMethod(iss.Slug, k), key: priv,
		req: p.Request, evidence: ev, validFrom: now, actor: actor}
	// Everything but the recipient and the status entry is the same for
	// every credential of the award: built and checked once.
	g.tpl, err = badges.NewTemplate(badges.AwardParams{Issuer: g.profile, Achievement: g.ach,
		ValidFrom: now, ValidUntil: spec.validUntil(now), Narrative: p.Request.Narrative, Evidence: ev, Results: p.Request.Results,
		ActivityStartDate: p.Request.ActivityStartDate, ActivityEndDate: p.Request.ActivityEndDate})
	if err != nil {
		return nil, asInputError(err, "", "")
	}
	g.di, err = dataintegrity.NewSigner(s.canon, priv, dataintegrity.Options{VerificationMethod: g.vm, Created: now})
	if err != nil {
		return nil, err
	}
	g.shapes = map[string]*jsonld.Shape{}
	return g, nil
}

// sign builds and signs the credential for one recipient at one status slot.
func (g *signer) sign(field string, r RecipientInput, sl slot) (Credential, error) {
	id := r.CredentialID
	if id == "" {
		id = newUUID()
	}
	idx := strconv.Itoa(sl.index)
	listURL := g.s.StatusListURL(g.iss.Slug, sl.list)
	doc, err := g.tpl.Credential("urn:uuid:"+id, badges.Recipient{Email: strings.TrimSpace(r.Email), DID: r.DID, Name: r.Name},
		&badges.CredentialStatus{ID: listURL + "#" + idx, Type: "BitstringStatusListEntry",
			StatusPurpose: "revocation", StatusListIndex: idx, StatusListCredential: listURL})
	if err != nil {
		return Credential{}, asInputError(err, "recipient", field)
	}
	if len(r.Evidence) > 0 {
		if err := addEvidence(doc, r.Evidence); err != nil {
			return Credential{}, asInputError(err, "evidence", field+".evidence")
		}
	}
	nq, _ := g.canonical(doc)
	signed, err := g.di.SignCanonical(doc, nq)
	if err != nil {
		return Credential{}, fmt.Errorf("sign: %w", err)
	}
	out, err := g.tpl.Marshal(signed)
	if err != nil {
		return Credential{}, err
	}
	return Credential{ID: id, Issuer: g.iss.Slug, AchievementID: g.achID, AchievementVersion: g.version,
		RecipientEmail: badges.NormalizeEmail(r.Email), RecipientName: r.Name, RecipientDID: r.DID,
		StatusList: sl.list, StatusIndex: sl.index, State: StateActive, Signed: out, CreatedAt: g.s.now()}, nil
}

// shaper is a canonicalizer that can compile a credential's shape
// (jsonld.Canonicalizer).
type shaper interface {
	NewShape(doc map[string]any, holes [][]any) (*jsonld.Shape, error)
}

// maxShapes bounds the shapes one award compiles: recipients' evidence
// comes in few arrangements; past that, credentials are canonicalized in
// full.
const maxShapes = 16

// canonical returns doc's canonical N-Quads through the shape of the
// credentials like it, when the canonicalizer offers shapes: the
// template's part is expanded and converted to RDF once for the award
// rather than for each credential. ok=false: the caller canonicalizes doc
// in full.
func (g *signer) canonical(doc map[string]any) (nq string, ok bool) {
	sc, can := g.s.canon.(shaper)
	if !can {
		return "", false
	}
	holes, key := varying(doc, len(g.evidence))
	g.mu.Lock()
	sh, seen := g.shapes[key]
	if !seen && len(g.shapes) < maxShapes {
		// A template that cannot be compiled is remembered as nil.
		sh, _ = sc.NewShape(doc, holes)
		g.shapes[key] = sh
	}
	g.mu.Unlock()
	if sh == nil {
		return "", false
	}
	return sh.Canonicalize(doc)
}

// varying lists the paths of the strings that vary from one credential
// of an award to the next (the id, the recipient's identity, the status
// entry, the recipient's own evidence after the award's shared pieces),
// and a key naming that arrangement. Whatever else differs makes the
// shape refuse the credential, never sign a wrong one.
func varying(doc map[string]any, shared int) ([][]any, string) {
	holes := [][]any{{"id"}}
	var key strings.Builder
	subject, _ := doc["credentialSubject"].(map[string]any)
	if _, ok := subject["id"].(string); ok {
		holes = append(holes, []any{"credentialSubject", "id"})
		key.WriteString("did;")
	}
	ids, _ := subject["identifier"].([]any)
	for i, o := range ids {
		m, _ := o.(map[string]any)
		for _, k := range []string{"identityHash", "salt"} {
			if _, ok := m[k].(string); ok {
				holes = append(holes, []any{"credentialSubject", "identifier", i, k})
				key.WriteString(k + ";")
			}
		}
	}
	if st, ok := doc["credentialStatus"].(map[string]any); ok {
		for _, k := range []string{"id", "statusListIndex", "statusListCredential"} {
			if _, ok := st[k].(string); ok {
				holes = append(holes, []any{"credentialStatus", k})
				key.WriteString("status." + k + ";")
			}
		}
	}
	ev, _ := doc["evidence"].([]any)
	for i := shared; i < len(ev); i++ {
		m, _ := ev[i].(map[string]any)
		keys := make([]string, 0, len(m))
		for k, v := range m {
			if _, ok := v.(string); ok && k != "type" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			holes = append(holes, []any{"evidence", i, k})
			key.WriteString("evidence." + k + ";")
		}
		key.WriteString("|")
	}
	return holes, key.String()
}

// addEvidence appends a recipient's own evidence to the award's in doc,
// a credential fresh from the template (whose shared values it must not
// change).
func addEvidence(doc map[string]any, ev []EvidenceInput) error {
	shared, _ := doc["evidence"].([]any)
	list := append([]any(nil), shared...)
	for _, e := range ev {
		b, err := json.Marshal(badges.Evidence{ID: e.URL, Type: []string{"Evidence"}, Name: e.Name, Narrative: e.Narrative,
			Description: e.Description, Genre: e.Genre, Audience: e.Audience})
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		list = append(list, m)
	}
	if err := badges.CheckControlChars(map[string]any{"evidence": list}); err != nil {
		return err
	}
	doc["evidence"] = list
	return nil
}

// signAll signs rows in parallel. Each result is a credential or an error
// for that row.
func (g *signer) signAll(rows []RecipientInput, firstRow int, slots []slot) ([]Credential, []error) {
	creds := make([]Credential, len(rows))
	errs := make([]error, len(rows))
	workers := min(runtime.GOMAXPROCS(0), len(rows))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				field := fmt.Sprintf("recipients[%d]", firstRow+i)
				if err := checkRecipient(field, rows[i]); err != nil {
					errs[i] = err
					continue
				}
				creds[i], errs[i] = g.sign(field, rows[i], slots[i])
				// Signing a thousand credentials keeps every core busy
				// for a while: yield after each one (a few hundred
				// microseconds), so that requests arriving meanwhile wait
				// that long rather than the scheduler's 10 ms time slice.
				runtime.Gosched()
			}
		})
	}
	for i := range rows {
		next <- i
	}
	close(next)
	wg.Wait()
	return creds, errs
}

func (g *signer) audit(c Credential) AuditEntry {
	return AuditEntry{At: g.s.now(), Actor: g.actor, Action: "credential.award", Issuer: c.Issuer, Target: "urn:uuid:" + c.ID,
		Detail: "achievement " + c.AchievementID + " v" + strconv.Itoa(c.AchievementVersion)}
}

// Award issues credentials now, all or nothing: a recipient that cannot be
// awarded fails the whole request with an error naming it.
func (s *Service) Award(ctx context.Context, actor string, p *Prepared) ([]Credential, error) {
	if p.NeedsApproval {
		return nil, errNeedsApproval()
	}
	return s.issue(ctx, actor, p, func(creds []Credential, audit []AuditEntry) error {
		return s.store.InsertCredentials(ctx, creds, nil, audit)
	})
}

// Signed is a prepared award's credentials, signed and not yet stored.
// A caller issuing award after award signs the next one while this one
// is stored (Sign, then StoreWith).
type Signed struct {
	p     *Prepared
	g     *signer
	creds []Credential
	audit []AuditEntry
}

// Sign signs the credentials of a prepared award without storing them. A
// recipient that cannot be awarded fails it, with an error naming them.
func (s *Service) Sign(ctx context.Context, actor string, p *Prepared) (*Signed, error) {
	if p.NeedsApproval {
		return nil, errNeedsApproval()
	}
	return s.sign(ctx, actor, p, false)
}

// AwardWith issues credentials like Award, but lets the caller make what
// depends on the signed credentials (an attestation's PDF) before anything
// is stored, so that no credential is stored without it. keep receives the
// signed credentials and their audit entries (audit[i] is creds[i]'s) and
// must store, in one transaction with what it made of them, those it keeps
// (InsertCredentials' contract: ErrConflict when a status index is taken,
// and nothing written). An error from keep is returned and nothing of the
// award is stored; on ErrConflict the credentials are signed again with
// other status indexes and handed to keep again.
func (s *Service) AwardWith(ctx context.Context, actor string, p *Prepared, keep func(creds []Credential, audit []AuditEntry) error) error {
	if p.NeedsApproval {
		return errNeedsApproval()
	}
	_, err := s.issue(ctx, actor, p, keep)
	return err
}

// StoreWith stores what Sign signed through keep, which must store the
// credentials and their audit entries (audit[i] is creds[i]'s) in one
// transaction with whatever goes with them (InsertCredentials' contract:
// ErrConflict when a status index or id is taken, and nothing written).
func (s *Service) StoreWith(ctx context.Context, sg *Signed, keep func(creds []Credential, audit []AuditEntry) error) ([]Credential, error) {
	return s.commit(ctx, sg, keep)
}

// issue signs the credentials of a prepared award and stores them with
// insert, in one transaction.
func (s *Service) issue(ctx context.Context, actor string, p *Prepared, insert func([]Credential, []AuditEntry) error) ([]Credential, error) {
	sg, err := s.sign(ctx, actor, p, false)
	if err != nil {
		return nil, err
	}
	return s.commit(ctx, sg, insert)
}

// sign signs every recipient of p; refresh reloads the status indexes
// taken from the store first.
func (s *Service) sign(ctx context.Context, actor string, p *Prepared, refresh bool) (*Signed, error) {
	g := p.signer
	if g == nil {
		var err error
		if g, err = s.newSigner(ctx, actor, p); err != nil {
			return nil, err
		}
		p.signer = g
	}
	g.actor = actor
	rows := p.Request.Recipients
	slots, err := s.allocate(ctx, g.iss.Slug, len(rows), refresh)
	if err != nil {
		return nil, err
	}
	creds, errs := g.signAll(rows, 0, slots)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	audit := make([]AuditEntry, len(creds))
	for i, c := range creds {
		audit[i] = g.audit(c)
	}
	return &Signed{p: p, g: g, creds: creds, audit: audit}, nil
}

// commit stores signed credentials with insert, signing them again on a
// status index conflict.
func (s *Service) commit(ctx context.Context, sg *Signed, insert func([]Credential, []AuditEntry) error) ([]Credential, error) {
	for attempt := 0; ; attempt++ {
		err := insert(sg.creds, sg.audit)
		if errors.Is(err, ErrConflict) {
			// A credential id the caller chose is taken: signing again
			// would not help.
			for _, r := range sg.p.Request.Recipients {
				if r.CredentialID == "" {
					continue
				}
				if _, e := s.store.Credential(ctx, r.CredentialID); e == nil {
					return nil, fmt.Errorf("award: credential %s: %w", r.CredentialID, ErrConflict)
				}
			}
			// Otherwise another node took one of our status indexes
			// meanwhile: sign again with fresh ones.
			if attempt < 4 {
				if sg, err = s.sign(ctx, sg.g.actor, sg.p, true); err != nil {
					return nil, err
				}
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("award: %w", err)
		}
		s.log.InfoContext(ctx, "award", "issuer", sg.g.iss.Slug, "achievement", sg.g.achID, "credentials", len(sg.creds), "actor", sg.g.actor)
		return sg.creds, nil
	}
}

// slot is a place in a status list.
type slot struct{ list, index int }

// listFull is when an issuer moves on to a new status list: random picks
// stay cheap and each list keeps a crowd to hide in.
const listFull = statuslist.MinSize * 3 / 4

type allocator struct {
	mu    sync.Mutex
	lists map[string]*listHint
}

// listHint is what this node knows of an issuer's current list: the
// indexes taken, refreshed from the store now and then; another node's
// picks show up as a conflict on insert, which refreshes it.
type listHint struct {
	list   int
	used   map[int]bool
	loaded time.Time
}

func (s *Service) allocate(ctx context.Context, slug string, n int, refresh bool) ([]slot, error) {
	s.alloc.mu.Lock()
	defer s.alloc.mu.Unlock()
	h := s.alloc.lists[slug]
	if h == nil || refresh || s.now().Sub(h.loaded) > 30*time.Second {
		list, _, err := s.store.StatusUsage(ctx, slug)
		if err != nil {
			return nil, err
		}
		if list == 0 {
			list = 1
		}
		used, err := s.store.UsedStatusIndexes(ctx, slug, list)
		if err != nil {
			return nil, err
		}
		h = &listHint{list: list, used: make(map[int]bool, len(used)+n), loaded: s.now()}
		for _, i := range used {
			h.used[i] = true
		}
		s.alloc.lists[slug] = h
	}
	out := make([]slot, 0, n)
	for len(out) < n {
		if len(h.used) >= listFull {
			h.list++
			h.used = make(map[int]bool, n)
		}
		i := rand.IntN(statuslist.MinSize)
		if h.used[i] {
			continue
		}
		h.used[i] = true
		out = append(out, slot{h.list, i})
	}
	return out, nil
}

// Credential returns one issued credential.
func (s *Service) Credential(ctx context.Context, id string) (*Credential, error) {
	if !IsUUID(id) {
		return nil, fmt.Errorf("credential %q: %w", id, ErrNotFound)
	}
	return s.store.Credential(ctx, id)
}

// Credentials lists issued credentials.
func (s *Service) Credentials(ctx context.Context, q CredentialQuery) ([]Credential, int, error) {
	return s.store.Credentials(ctx, q)
}

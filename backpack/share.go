package backpack

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CollectionInput is what a learner sends to create or change a collection.
type CollectionInput struct {
	Name        string
	Description string
	Items       []string
}

func (s *Service) checkCollection(ctx context.Context, userID string, in CollectionInput) error {
	if strings.TrimSpace(in.Name) == "" {
		return inputErr("name", "is required")
	}
	if len(in.Name) > 200 || len(in.Description) > 4000 {
		return inputErr("name", "is too long (200 characters for the name, 4000 for the description)")
	}
	if len(in.Items) > 1000 {
		return inputErr("items", "a collection holds at most 1000 credentials")
	}
	for i, id := range in.Items {
		if _, err := s.store.Holding(ctx, userID, id); err != nil {
			if isNotFound(err) {
				return inputErr(fmt.Sprintf("items[%d]", i), "%q is not a credential in your backpack", id)
			}
			return err
		}
	}
	return nil
}

// CreateCollection creates a collection of the learner's items.
func (s *Service) CreateCollection(ctx context.Context, userID string, in CollectionInput) (*Collection, error) {
	if err := s.checkCollection(ctx, userID, in); err != nil {
		return nil, err
	}
	now := s.now()
	c := Collection{ID: newUUID(), UserID: userID, Name: strings.TrimSpace(in.Name), Description: in.Description,
		Items: dedupe(in.Items), CreatedAt: now, UpdatedAt: now}
	if err := s.store.PutCollection(ctx, c); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCollection replaces a collection's name, description and items.
func (s *Service) UpdateCollection(ctx context.Context, userID, id string, in CollectionInput) (*Collection, error) {
	c, err := s.store.Collection(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkCollection(ctx, userID, in); err != nil {
		return nil, err
	}
	c.Name, c.Description, c.Items, c.UpdatedAt = strings.TrimSpace(in.Name), in.Description, dedupe(in.Items), s.now()
	if err := s.store.PutCollection(ctx, *c); err != nil {
		return nil, err
	}
	return c, nil
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Collections lists the learner's collections.
func (s *Service) Collections(ctx context.Context, userID string) ([]Collection, error) {
	return s.store.Collections(ctx, userID)
}

// Collection returns one of the learner's collections.
func (s *Service) Collection(ctx context.Context, userID, id string) (*Collection, error) {
	return s.store.Collection(ctx, userID, id)
}

// DeleteCollection deletes a collection (its credentials stay).
func (s *Service) DeleteCollection(ctx context.Context, userID, id string) error {
	return s.store.DeleteCollection(ctx, userID, id)
}

// CreateShare makes a public link to one of the learner's items or
// collections. Nothing is public until the learner does this.
func (s *Service) CreateShare(ctx context.Context, userID, kind, id string, expires time.Time) (*Share, error) {
	switch kind {
	case ShareCredential:
		if _, err := s.Get(ctx, userID, id); err != nil {
			if isNotFound(err) {
				return nil, inputErr("id", "%q is not a credential in your backpack", id)
			}
			return nil, err
		}
	case ShareCollection:
		if _, err := s.store.Collection(ctx, userID, id); err != nil {
			if isNotFound(err) {
				return nil, inputErr("id", "%q is not one of your collections", id)
			}
			return nil, err
		}
	default:
		return nil, inputErr("kind", "must be %q or %q", ShareCredential, ShareCollection)
	}
	now := s.now()
	if !expires.IsZero() && !expires.After(now) {
		return nil, inputErr("expiresAt", "must be in the future")
	}
	sh := Share{ID: newToken(), UserID: userID, TargetKind: kind, TargetID: id, ExpiresAt: expires, CreatedAt: now}
	if err := s.store.PutShare(ctx, sh); err != nil {
		return nil, err
	}
	return &sh, nil
}

// Shares lists the learner's share links.
func (s *Service) Shares(ctx context.Context, userID string) ([]Share, error) {
	return s.store.Shares(ctx, userID)
}

// RevokeShare ends a share link.
func (s *Service) RevokeShare(ctx context.Context, userID, id string) error {
	return s.store.RevokeShare(ctx, userID, id, s.now())
}

// Shared is what a share link shows.
type Shared struct {
	Share      Share
	Items      []Item // one for a credential, the collection's for a collection
	Collection *Collection
}

// OpenShare follows a public share link: it counts a view and returns what
// it shows, or ErrNotFound for an unknown, expired or revoked link.
func (s *Service) OpenShare(ctx context.Context, id string) (*Shared, error) {
	sh, err := s.store.ViewShare(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	out := &Shared{Share: *sh}
	ids := []string{sh.TargetID}
	if sh.TargetKind == ShareCollection {
		c, err := s.store.Collection(ctx, sh.UserID, sh.TargetID)
		if err != nil {
			return nil, err
		}
		out.Collection, ids = c, c.Items
	}
	for _, id := range ids {
		it, err := s.Get(ctx, sh.UserID, id)
		if isNotFound(err) {
			continue // removed from the backpack since
		}
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, *it)
	}
	return out, nil
}

// LinkedInURL is LinkedIn's "add to profile" link for a credential, with
// the share link as the certification URL.
func LinkedInURL(it Item, shareURL string) string {
	// In the order LinkedIn documents them; url.Values would sort them.
	q := "startTask=CERTIFICATION_NAME&name=" + url.QueryEscape(it.Name) + "&organizationName=" + url.QueryEscape(it.IssuerName)
	if !it.CreatedAt.IsZero() {
		q += "&issueYear=" + strconv.Itoa(it.CreatedAt.Year()) + "&issueMonth=" + strconv.Itoa(int(it.CreatedAt.Month()))
	}
	q += "&certUrl=" + url.QueryEscape(shareURL) + "&certId=" + url.QueryEscape(it.CredentialID)
	return "https://www.linkedin.com/profile/add?" + q
}

// EmbedSnippet is HTML a learner pastes in a page to show a shared badge.
func EmbedSnippet(shareURL, name string) string {
	return `<iframe src="` + htmlAttr(shareURL+"?embed=1") + `" title="` + htmlAttr("Badge : "+name) +
		`" width="360" height="420" style="border:0" loading="lazy"></iframe>`
}

func htmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;", "'", "&#39;").Replace(s)
}

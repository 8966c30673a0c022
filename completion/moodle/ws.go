package moodle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/insigne/insigne/completion"
	"github.com/insigne/insigne/fetch"
)

// Getter makes the outbound requests; *fetch.Client is one, with its
// timeouts, size cap and address rules.
type Getter interface {
	Get(ctx context.Context, url, accept string) (*fetch.Response, error)
}

// The web-service functions a pull calls; the token's external service
// must offer them.
const (
	FnSiteInfo         = "core_webservice_get_site_info"
	FnEnrolledUsers    = "core_enrol_get_enrolled_users"
	FnCompletionStatus = "core_completion_get_course_completion_status"
)

// Error is an exception Moodle answered with (HTTP 200 and
// {"exception","errorcode","message"}).
type Error struct {
	Function  string
	Exception string
	ErrorCode string
	Message   string
}

func (e *Error) Error() string {
	hint := ""
	switch e.ErrorCode {
	case "invalidtoken":
		hint = " (the token is wrong or expired: create one under Site administration > Server > Web services > Manage tokens)"
	case "accessexception", "servicerequireslogin", "webservicesnotenabled":
		hint = " (check that web services and the REST protocol are enabled and that the token's service offers this function)"
	case "nocriteriaset":
		hint = " (the course has no completion criteria: set them in the course's completion settings)"
	}
	return fmt.Sprintf("Moodle refused %s: %s: %s%s", e.Function, e.ErrorCode, e.Message, hint)
}

// ErrResponse is a Moodle answer Insigne cannot read; ErrUnreachable a
// site that could not be reached (refused address, network, HTTP error).
var (
	ErrResponse    = errors.New("moodle: unreadable response")
	ErrUnreachable = errors.New("moodle: site unreachable")
)

// SiteInfo is the part of core_webservice_get_site_info a pull uses.
type SiteInfo struct {
	SiteName  string     `json:"sitename"`
	SiteURL   string     `json:"siteurl"`
	UserName  string     `json:"username"`
	UserID    int64      `json:"userid"`
	Release   string     `json:"release"`
	Functions []Function `json:"functions"`
}

// Function is a web-service function the token may call.
type Function struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// User is an enrolled user (core_enrol_get_enrolled_users).
type User struct {
	ID       int64  `json:"id"`
	UserName string `json:"username"`
	FullName string `json:"fullname"`
	Email    string `json:"email"`
}

// CompletionStatus is core_completion_get_course_completion_status.
type CompletionStatus struct {
	Status struct {
		Completed   bool `json:"completed"`
		Aggregation int  `json:"aggregation"`
		Completions []struct {
			Type          int    `json:"type"`
			Title         string `json:"title"`
			Status        string `json:"status"`
			Complete      bool   `json:"complete"`
			TimeCompleted *int64 `json:"timecompleted"`
		} `json:"completions"`
	} `json:"completionstatus"`
	Warnings []struct {
		Item        string `json:"item"`
		ItemID      int64  `json:"itemid"`
		WarningCode string `json:"warningcode"`
		Message     string `json:"message"`
	} `json:"warnings"`
}

// CompletedAt is when the course was completed: the latest time a
// criterion was met (the function gives no course completion time).
func (s CompletionStatus) CompletedAt() time.Time {
	var last int64
	for _, c := range s.Status.Completions {
		if c.Complete && c.TimeCompleted != nil && *c.TimeCompleted > last {
			last = *c.TimeCompleted
		}
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(last, 0).UTC()
}

// Client calls a Moodle site's REST web services with a token.
type Client struct {
	get   Getter
	base  string // the site's wwwroot, no trailing slash
	token string
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9]{8,128}$`)

// NewClient returns a client of the Moodle site at base (its wwwroot).
func NewClient(get Getter, base, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, &InputError{Column: "url", Reason: fmt.Sprintf("%q is not the http(s) address of a Moodle site", clip(base))}
	}
	if !tokenRE.MatchString(token) {
		return nil, &InputError{Column: "token", Reason: "a Moodle web-service token is 8 to 128 letters and digits (usually 32 hexadecimal characters)"}
	}
	return &Client{get: get, base: strings.TrimSuffix(u.String(), "/"), token: token}, nil
}

// Base is the site's address.
func (c *Client) Base() string { return c.base }

// call calls function fn with params and decodes its answer into out.
func (c *Client) call(ctx context.Context, fn string, params url.Values, out any) error {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("wstoken", c.token)
	q.Set("wsfunction", fn)
	q.Set("moodlewsrestformat", "json")
	endpoint := c.base + "/webservice/rest/server.php"
	u := endpoint + "?" + q.Encode()
	resp, err := c.get.Get(ctx, u, "application/json")
	if err != nil {
		// The URL holds the token: the error is rewritten so that it
		// never reaches a log or an answer.
		switch {
		case resp != nil:
			return fmt.Errorf("moodle: %s: %w: the site answered HTTP %d", fn, ErrUnreachable, resp.Status)
		case errors.Is(err, fetch.ErrForbiddenAddress):
			return fmt.Errorf("moodle: %s: %w: %s is not at a public address (an administrator may allow it: INSIGNE_MOODLE_URLS)", fn, ErrUnreachable, c.base)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), u, endpoint), c.token, "…")
		return fmt.Errorf("moodle: %s: %w: %s", fn, ErrUnreachable, msg)
	}
	return DecodeResponse(fn, resp.Body, out)
}

// DecodeResponse reads the JSON answer of web-service function fn into
// out: an *Error for Moodle's exception object, ErrResponse (wrapped) for
// anything else that does not fit.
func DecodeResponse(fn string, body []byte, out any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return fmt.Errorf("%w: %s answered nothing", ErrResponse, fn)
	}
	if trimmed[0] == '{' {
		var ex struct {
			Exception *string `json:"exception"`
			ErrorCode string  `json:"errorcode"`
			Message   string  `json:"message"`
		}
		if json.Unmarshal(trimmed, &ex) == nil && ex.Exception != nil {
			return &Error{Function: fn, Exception: *ex.Exception, ErrorCode: clip(ex.ErrorCode), Message: clip(ex.Message)}
		}
	}
	if trimmed[0] == '<' {
		return fmt.Errorf("%w: %s answered HTML, not JSON: is this the address of a Moodle site, with the REST protocol enabled?", ErrResponse, fn)
	}
	if err := json.Unmarshal(trimmed, out); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrResponse, fn, err)
	}
	return nil
}

// SiteInfo calls core_webservice_get_site_info.
func (c *Client) SiteInfo(ctx context.Context) (SiteInfo, error) {
	var si SiteInfo
	err := c.call(ctx, FnSiteInfo, nil, &si)
	return si, err
}

// EnrolledUsers calls core_enrol_get_enrolled_users for a course.
func (c *Client) EnrolledUsers(ctx context.Context, courseID int64) ([]User, error) {
	var us []User
	err := c.call(ctx, FnEnrolledUsers, url.Values{"courseid": {strconv.FormatInt(courseID, 10)}}, &us)
	return us, err
}

// CompletionStatus calls core_completion_get_course_completion_status.
func (c *Client) CompletionStatus(ctx context.Context, courseID, userID int64) (CompletionStatus, error) {
	var st CompletionStatus
	err := c.call(ctx, FnCompletionStatus, url.Values{"courseid": {strconv.FormatInt(courseID, 10)}, "userid": {strconv.FormatInt(userID, 10)}}, &st)
	return st, err
}

// PullResult is what a pull found.
type PullResult struct {
	Site        string
	Completions []completion.Completion
	Enrolled    int
	// NoEmail lists the users who completed but whose address the token
	// may not see.
	NoEmail []string
}

// MaxEnrolled caps the users of one pull.
const MaxEnrolled = 20000

// Pull reads the completions of a course: the site's identity (and that
// the token may call what is needed), the enrolled users, and each one's
// completion status. course names the course's other identifiers; its
// xAPI id defaults to {siteurl}/course/view.php?id={courseID}, as
// logstore_xapi names it, so that all ingestion paths agree.
func Pull(ctx context.Context, c *Client, courseID int64, course completion.Activity, now time.Time) (PullResult, error) {
	var res PullResult
	if courseID <= 0 {
		return res, &InputError{Column: "courseid", Reason: "must be a positive Moodle course id"}
	}
	si, err := c.SiteInfo(ctx)
	if err != nil {
		return res, err
	}
	var missing []string
	for _, fn := range []string{FnEnrolledUsers, FnCompletionStatus} {
		if !slices.ContainsFunc(si.Functions, func(f Function) bool { return f.Name == fn }) {
			missing = append(missing, fn)
		}
	}
	if len(missing) > 0 {
		return res, &Error{Function: FnSiteInfo, ErrorCode: "missingfunctions", Message: "the token's external service lacks " + strings.Join(missing, " and ") + ": add them to the service"}
	}
	site := strings.TrimSuffix(si.SiteURL, "/")
	if site == "" {
		site = c.base
	}
	res.Site = site
	users, err := c.EnrolledUsers(ctx, courseID)
	if err != nil {
		return res, err
	}
	if len(users) > MaxEnrolled {
		return res, fmt.Errorf("%w: %d enrolled users, the limit of one pull is %d", ErrResponse, len(users), MaxEnrolled)
	}
	res.Enrolled = len(users)
	cid := strconv.FormatInt(courseID, 10)
	if course.MoodleCourseID == "" {
		course.MoodleCourseID = cid
	}
	if course.ID == "" {
		course.ID = site + "/course/view.php?id=" + cid
	}
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		st, err := c.CompletionStatus(ctx, courseID, u.ID)
		var me *Error
		if errors.As(err, &me) && me.ErrorCode == "nopermissiontoviewcompletion" {
			continue // a user whose completion the token may not see (e.g. a teacher)
		}
		if err != nil {
			return res, err
		}
		if !st.Status.Completed {
			continue
		}
		email := strings.ToLower(strings.TrimSpace(u.Email))
		if !plausibleEmail(email) {
			res.NoEmail = append(res.NoEmail, strconv.FormatInt(u.ID, 10))
			continue
		}
		at := st.CompletedAt()
		if at.IsZero() {
			at = now.UTC()
		}
		res.Completions = append(res.Completions, completion.Completion{
			Source: "moodle-ws", SourceRef: site + "/course/" + cid + "/user/" + strconv.FormatInt(u.ID, 10),
			Learner:   completion.Learner{Email: email, Name: u.FullName, AccountHomePage: site, AccountName: strconv.FormatInt(u.ID, 10)},
			Activity:  course,
			Completed: true, At: at,
		})
	}
	return res, nil
}

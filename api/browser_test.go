package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	stdpng "image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/insigne/insigne/api"
	"github.com/insigne/insigne/attest"
	"github.com/insigne/insigne/auth"
	"github.com/insigne/insigne/backpack"
	"github.com/insigne/insigne/badges"
	"github.com/insigne/insigne/competency"
	"github.com/insigne/insigne/internal/testenv"
	"github.com/insigne/insigne/oauth"
	"github.com/insigne/insigne/store"
	"github.com/insigne/insigne/store/storetest"
)

// The browser tests drive Debian's Chromium through the pages of the
// whole service: every page is checked with axe-core (from npm, pinned in
// web/axe) in French and in English, and photographed; the pictures are
// written into docs/screenshots only when INSIGNE_UPDATE_SCREENSHOTS=1, so
// that a test run leaves the tree as it was.

const axePath = "../web/axe/node_modules/axe-core/axe.min.js"

var screenshotDir = filepath.Join("..", "docs", "screenshots")

func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Skip(t, "no Chromium on PATH (apt-get install chromium)")
	return ""
}

// withPages gives the server what the pages need besides the issuing
// service: the frameworks and the learners' credentials.
func withPages(t *testing.T) func(base string, c *api.Config) {
	return func(base string, c *api.Config) {
		db := c.Idempotency.(*store.DB)
		comp := competency.NewService(db, base, nil, c.Log)
		if err := comp.SeedOfficial(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Competency = comp
		// As newBPServer: the verifier reads this server's own documents.
		canon, schemas := shared(t)
		v := badges.NewVerifier(badges.VerifierConfig{Schemas: schemas, Canon: canon, Docs: selfDocs{base},
			Extractors: []badges.Extractor{attest.Extractor{}}})
		c.Verifier = v
		c.Backpack = backpack.New(backpack.Config{Store: db, Verifier: v, Issuing: c.Issuing, PlatformIssuer: "plateforme", BaseURL: base, Forget: c.Auth.ForgetUser})
		fw, err := competency.Official()
		if err != nil {
			t.Fatal(err)
		}
		c.Attest = attest.New(attest.Config{Store: db, Issuing: c.Issuing, Verifier: v, Frameworks: fw, BaseURL: base})
	}
}

// browser is one person's browser (its own cookies) on the test server.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
}

// submit clicks a form's button and waits for the next page.
func (b *browser) submit(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("submit %s: %v", sel, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", js, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

func (b *browser) path() string { return eval[string](b, `location.pathname + location.search`) }

type violation struct {
	ID, Impact, Help string
	Nodes            []string
}

// audit runs axe-core on the page as it is, writes its screenshot, and
// fails the test on any violation.
func (b *browser) audit(name, lang string) {
	b.t.Helper()
	if got := eval[string](b, `document.documentElement.lang`); got != lang {
		b.t.Errorf("%s: <html lang=%q>, want %q", name, got, lang)
	}
	if !eval[bool](b, `typeof axe !== "undefined"`) {
		eval[bool](b, b.axe+"\n;true")
	}
	js := `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
	  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
	     nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary)}))))`
	var vs []violation
	if err := json.Unmarshal([]byte(eval[string](b, js)), &vs); err != nil {
		b.t.Fatalf("%s: axe answer: %v", name, err)
	}
	for _, v := range vs {
		b.t.Errorf("%s (%s): axe %s (%s): %s\n\t%s", name, lang, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
	b.t.Logf("axe: %s (%s): %d violations", name, lang, len(vs))
	b.screenshot(name + "-" + lang)
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if cfg, err := stdpng.DecodeConfig(bytes.NewReader(png)); err != nil || cfg.Width < 300 || cfg.Height < 200 {
		b.t.Fatalf("screenshot %s: not a page-sized PNG (%v, %dx%d)", name, err, cfg.Width, cfg.Height)
	}
	if os.Getenv("INSIGNE_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// auditBoth opens a page in French then in English and audits each.
func (b *browser) auditBoth(name, path string) {
	b.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, lang := range []string{"fr", "en"} {
		b.open(path + sep + "lang=" + lang)
		b.audit(name, lang)
	}
	b.open(path + sep + "lang=fr") // back to the default for what follows
}

func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.open("/signin")
	b.do(chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password))
	b.submit(`form[action="/signin"] button[type=submit]`)
	if p := b.path(); p != "/" {
		b.t.Fatalf("after signing in as %s: at %s, want /", email, p)
	}
}

func TestBrowser(t *testing.T) {
	t.Parallel()
	chrome := findChromium(t)
	axe, err := os.ReadFile(axePath)
	if err != nil {
		testenv.Skip(t, "axe-core is not installed (npm ci --prefix web/axe): %v", err)
	}
	var attSvc *attest.Service
	ts := newTestServer(t, storetest.SQLite(t), withPages(t), func(_ string, c *api.Config) {
		attSvc = c.Attest
		// The consent page is seen with a wallet on this machine.
		c.OAuth = oauth.New(oauth.Config{Store: c.Idempotency.(*store.DB), AllowLoopbackHTTP: true})
	})
	ctx := context.Background()
	// The attestation batches' worker, as serve runs it; stopped before
	// the server's cleanup closes the database.
	batchCtx, stopBatches := context.WithCancel(ctx)
	batchesDone := make(chan struct{})
	go func() { attSvc.RunBatches(batchCtx); close(batchesDone) }()
	t.Cleanup(func() { stopBatches(); <-batchesDone })

	ts.createIssuer(t, "ac-lyon")
	ts.createIssuer(t, "plateforme")
	const pw = "un mot de passe assez long"
	ts.addMember(t, ts.Root, "ac-lyon", "admin@ac-lyon.fr", "admin", pw)
	ts.addMember(t, ts.Root, "ac-lyon", "formatrice@ac-lyon.fr", "trainer", pw)
	ts.addMember(t, ts.Root, "ac-lyon", "second@ac-lyon.fr", "trainer", pw)
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{{Email: "ana.martin@ac-lyon.fr", Name: "Ana Martin"}, {Email: "lea.petit@ac-lyon.fr", Name: "Léa Petit"},
		{Email: "operateur@education.gouv.fr", Name: "Opérateur national", Root: true}} {
		u.PasswordHash = hash
		if _, err := ts.DB.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "fr-FR"))...)
	defer cancel()
	// The first context starts the browser; each person then gets a
	// browser context of their own (their own cookies).
	root, cancelRoot := chromedp.NewContext(alloc)
	defer cancelRoot()
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	newBrowser := func() *browser {
		bctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		bctx, cancel2 := context.WithTimeout(bctx, 15*time.Minute)
		t.Cleanup(cancel2)
		return &browser{t: t, ctx: bctx, base: ts.URL, axe: string(axe)}
	}

	// Anyone: the public pages and the error pages.
	visitor := newBrowser()
	visitor.auditBoth("home", "/")
	visitor.auditBoth("signin", "/signin")
	visitor.auditBoth("error-404", "/no/such/page")
	if h := visitor.text("h1"); h != "Page non trouvée" {
		t.Errorf("404 page heading %q", h)
	}

	// An administrator creates an achievement with a scale and an
	// alignment through the form.
	admin := newBrowser()
	admin.signIn("admin@ac-lyon.fr", pw)
	admin.auditBoth("dashboard", "/")
	admin.auditBoth("manage", "/manage/ac-lyon")
	admin.open("/manage/ac-lyon/achievements/new")
	admin.do(
		chromedp.SendKeys(chromedp.ID("name"), "Coopérer au sein d'une équipe"),
		chromedp.SendKeys(chromedp.ID("description"), "A conduit un projet pédagogique en équipe."),
		chromedp.SendKeys(chromedp.ID("criteria"), "Avoir mené un projet interdisciplinaire avec au moins deux collègues."),
		chromedp.SetValue(chromedp.ID("type"), "Competency"),
		chromedp.SendKeys(chromedp.ID("levels"), "Débutant\nConfirmé\nExpert"),
	)
	if !eval[bool](admin, `(() => { const l = [...document.querySelectorAll(".checks label")].find(l => l.querySelector(".tag").textContent.trim() === "CC10");
		if (!l) return false; document.getElementById(l.htmlFor).checked = true; return true })()`) {
		t.Fatal("no CC10 item in the alignment picker")
	}
	admin.auditBoth("achievement-new", "/manage/ac-lyon/achievements/new")
	admin.open("/manage/ac-lyon/achievements/new")
	admin.do(
		chromedp.SendKeys(chromedp.ID("name"), "Coopérer au sein d'une équipe"),
		chromedp.SendKeys(chromedp.ID("description"), "A conduit un projet pédagogique en équipe."),
		chromedp.SendKeys(chromedp.ID("criteria"), "Avoir mené un projet interdisciplinaire avec au moins deux collègues."),
		chromedp.SetValue(chromedp.ID("type"), "Competency"),
		chromedp.SendKeys(chromedp.ID("levels"), "Débutant\nConfirmé\nExpert"),
	)
	eval[bool](admin, `(() => { const l = [...document.querySelectorAll(".checks label")].find(l => l.querySelector(".tag").textContent.trim() === "CC10");
		document.getElementById(l.htmlFor).checked = true; return true })()`)
	admin.submit(`form[action="/manage/ac-lyon/achievements/new"] button[type=submit]`)
	if p := admin.path(); !strings.HasPrefix(p, "/manage/ac-lyon/achievements?done=achievement.created") {
		t.Fatalf("after creating: at %s (%s)", p, admin.text(".alert"))
	}
	if !strings.Contains(admin.text("table"), "Coopérer au sein d'une équipe") || !strings.Contains(admin.text("table"), "CC10") {
		t.Fatalf("the new achievement is not listed with CC10: %s", admin.text("table"))
	}
	var listed struct {
		Achievements []struct {
			ID                string
			Alignment         []struct{ TargetCode string }
			ResultDescription []struct{ RubricCriterionLevel []struct{ Name string } }
		}
	}
	ts.must(t, 200, "GET", "/api/v1/issuers/ac-lyon/achievements", req{Bearer: ts.Root}).json(t, &listed)
	if len(listed.Achievements) != 1 || len(listed.Achievements[0].Alignment) != 1 || listed.Achievements[0].Alignment[0].TargetCode != "CC10" ||
		len(listed.Achievements[0].ResultDescription) != 1 || len(listed.Achievements[0].ResultDescription[0].RubricCriterionLevel) != 3 {
		t.Fatalf("achievement as stored: %+v", listed)
	}
	achURL := listed.Achievements[0].ID
	achID := achURL[strings.LastIndex(achURL, "/")+1:]
	admin.auditBoth("achievements", "/manage/ac-lyon/achievements")
	admin.auditBoth("achievement-edit", "/manage/ac-lyon/achievements/"+achID)
	admin.auditBoth("keys", "/manage/ac-lyon/keys")
	admin.auditBoth("members", "/manage/ac-lyon/members")
	admin.open("/manage/ac-lyon/tokens")
	admin.do(chromedp.SendKeys(chromedp.ID("name"), "Moodle Magistère"), chromedp.Click(chromedp.CSS(`input[value="awards:write"]`)))
	admin.submit(`form[action="/manage/ac-lyon/tokens"] button[type=submit]`)
	if tok := admin.text("#new-token"); !strings.HasPrefix(tok, auth.APITokenPrefix) {
		t.Fatalf("created token shown as %q", tok)
	}
	admin.audit("token-created", "fr")
	admin.auditBoth("tokens", "/manage/ac-lyon/tokens")

	// Frameworks: a broken file's problem is named; a Moodle CSV goes in
	// and its versions page offers the exports.
	admin.auditBoth("frameworks", "/manage/ac-lyon/frameworks")
	broken := filepath.Join(t.TempDir(), "referentiel.json")
	os.WriteFile(broken, []byte(`{"CFDocument": {"identifier": 42}}`), 0o644)
	for _, lang := range []string{"fr", "en"} {
		admin.open("/manage/ac-lyon/frameworks?lang=" + lang)
		admin.do(chromedp.SetUploadFiles(chromedp.ID("framework-file"), []string{broken}))
		admin.submit(`form[action="/manage/ac-lyon/frameworks"] button[type=submit]`)
		if msg := admin.text(".alert-error"); !strings.Contains(msg, "CFDocument") {
			t.Fatalf("broken framework (%s): %q", lang, msg)
		}
		admin.audit("frameworks-error", lang)
	}
	admin.open("/manage/ac-lyon/frameworks?lang=fr")
	crcn, err := filepath.Abs(filepath.Join("..", "testdata", "frameworks", "crcn-edu.moodle.csv"))
	if err != nil {
		t.Fatal(err)
	}
	admin.do(chromedp.SetUploadFiles(chromedp.ID("framework-file"), []string{crcn}))
	admin.submit(`form[action="/manage/ac-lyon/frameworks"] button[type=submit]`)
	fwPath := eval[string](admin, `(document.querySelector("tr.highlight a") || {getAttribute: () => ""}).getAttribute("href")`)
	if !strings.HasPrefix(fwPath, "/manage/ac-lyon/frameworks/") {
		t.Fatalf("after importing a framework: at %s: %s", admin.path(), admin.text("main"))
	}
	admin.audit("frameworks-imported", "fr")
	admin.auditBoth("framework", fwPath)
	if !strings.Contains(admin.text("table"), "Moodle CSV") {
		t.Errorf("framework versions page: %s", admin.text("main"))
	}

	// A trainer awards it with evidence and a level.
	trainer := newBrowser()
	trainer.signIn("formatrice@ac-lyon.fr", pw)
	trainer.auditBoth("award", "/manage/ac-lyon/award")
	evidence := filepath.Join(t.TempDir(), "projet-equipe.png")
	if err := os.WriteFile(evidence, pngBytes(2048), 0o644); err != nil {
		t.Fatal(err)
	}
	trainer.open("/manage/ac-lyon/award")
	trainer.do(
		chromedp.SendKeys(chromedp.ID("email"), "ana.martin@ac-lyon.fr"),
		chromedp.SendKeys(chromedp.ID("name"), "Ana Martin"),
		chromedp.SetValue(chromedp.ID("achievement"), achID),
		chromedp.SendKeys(chromedp.ID("narrative"), "Ana a coordonné le projet « Jardin partagé » avec trois collègues."),
		chromedp.SendKeys(chromedp.ID("competencies"), "CC10"),
		chromedp.SetValue(chromedp.ID("level"), "Confirmé"),
		chromedp.SetUploadFiles(chromedp.ID("evidence"), []string{evidence}),
		chromedp.SendKeys(chromedp.ID("evidence_name"), "Compte rendu du projet"),
	)
	trainer.submit(`form[action="/manage/ac-lyon/award"] button[type=submit]`)
	link := eval[string](trainer, `(document.querySelector(".alert-success a") || {}).getAttribute ? document.querySelector(".alert-success a").getAttribute("href") : ""`)
	if !strings.HasPrefix(link, "/credentials/") {
		t.Fatalf("after awarding: at %s, no link to the credential (%s)", trainer.path(), trainer.text("main"))
	}
	trainer.audit("award-done", "fr")
	credPath := link
	trainer.open(credPath)
	page := trainer.text("main")
	for _, want := range []string{"Coopérer au sein d'une équipe", "Ana Martin", "Compte rendu du projet", "CC10", "Confirmé", "Jardin partagé"} {
		if !strings.Contains(page, want) {
			t.Errorf("credential page lacks %q:\n%s", want, page)
		}
	}
	if href := eval[string](trainer, `document.querySelector("#evidence-title + ul a").getAttribute("href")`); !strings.Contains(href, "/evidence/") {
		t.Errorf("evidence link %q", href)
	}
	visitor.auditBoth("credential", credPath)

	// The learner signs in and finds it, and the competency it covers.
	learner := newBrowser()
	learner.signIn("ana.martin@ac-lyon.fr", pw)
	learner.auditBoth("backpack", "/backpack")
	if !strings.Contains(learner.text(".badge-grid"), "Coopérer au sein d'une équipe") {
		t.Errorf("backpack: %s", learner.text("main"))
	}
	learner.auditBoth("competencies", "/backpack/competencies")
	if covered := learner.text(".comp.covered"); !strings.Contains(covered, "CC10") || !strings.Contains(covered, "Confirmé") {
		t.Errorf("competency map: first covered item %q, want CC10 at Confirmé", covered)
	}
	// … shares it, and a visitor opens the link.
	learner.open("/backpack")
	learner.submit(`form[action="/backpack/share"] button`)
	if p := learner.path(); !strings.HasPrefix(p, "/backpack/sharing?done=share.created") {
		t.Fatalf("after sharing: at %s: %s", p, learner.text("main"))
	}
	shareURL := eval[string](learner, `document.querySelector("tr.highlight a").href`)
	if !strings.HasPrefix(shareURL, ts.URL+"/s/") {
		t.Fatalf("share link %q", shareURL)
	}
	learner.audit("sharing", "fr")
	learner.do(chromedp.SendKeys(chromedp.ID("col-name"), "Projets d'équipe"), chromedp.Click(chromedp.ID("col-item-0")))
	learner.submit(`form[action="/backpack/collections"] button[type=submit]`)
	if !strings.Contains(learner.text(".list-cards"), "Projets d'équipe") {
		t.Errorf("collection not listed: %s", learner.text("main"))
	}
	learner.auditBoth("sharing", "/backpack/sharing")
	sharePath := strings.TrimPrefix(shareURL, ts.URL)
	visitor.auditBoth("share", sharePath)
	if v := visitor.text(".verdict"); !strings.Contains(v, "Authentique et valide") {
		t.Errorf("share page verdict %q", v)
	}
	learner.auditBoth("error-403", "/manage/ac-lyon/keys")
	if h := learner.text("h1"); h != "Accès refusé" {
		t.Errorf("403 page heading %q", h)
	}

	// A second assessor: the trainer proposes, another trainer approves.
	trainer.open("/manage/ac-lyon/award")
	trainer.do(
		chromedp.SendKeys(chromedp.ID("email"), "jules.bernard@ac-lyon.fr"),
		chromedp.SetValue(chromedp.ID("achievement"), achID),
		chromedp.SendKeys(chromedp.ID("competencies"), "CC10"),
		chromedp.SetValue(chromedp.ID("level"), "Expert"),
		chromedp.Click(chromedp.ID("second")),
	)
	trainer.submit(`form[action="/manage/ac-lyon/award"] button[type=submit]`)
	if p := trainer.path(); !strings.Contains(p, "proposed=1") {
		t.Fatalf("after proposing: at %s: %s", p, trainer.text("main"))
	}
	second := newBrowser()
	second.signIn("second@ac-lyon.fr", pw)
	second.auditBoth("pending", "/manage/ac-lyon/pending")
	second.submit(`form[action$="/approve"] button`)
	if p := second.path(); !strings.Contains(p, "done=pending.approved") {
		t.Fatalf("after approving: at %s: %s", p, second.text("main"))
	}

	// A bulk award: the progress bar reaches 100 %.
	trainer.auditBoth("bulk", "/manage/ac-lyon/bulk")
	var csv strings.Builder
	csv.WriteString("email,name\n")
	for i := range 150 {
		fmt.Fprintf(&csv, "stagiaire%03d@ac-lyon.fr,Stagiaire %d\n", i, i)
	}
	csvPath := filepath.Join(t.TempDir(), "cohorte.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o644)
	trainer.open("/manage/ac-lyon/bulk")
	trainer.do(chromedp.SetValue(chromedp.ID("achievement"), achID), chromedp.SetUploadFiles(chromedp.ID("csv"), []string{csvPath}))
	trainer.submit(`form[action="/manage/ac-lyon/bulk"] button[type=submit]`)
	jobPath := trainer.path()
	if !strings.HasPrefix(jobPath, "/manage/ac-lyon/jobs/") {
		t.Fatalf("after the bulk form: at %s: %s", jobPath, trainer.text("main"))
	}
	label := eval[string](trainer, `document.getElementById("job-progress").labels[0].innerText`)
	if label == "" {
		t.Error("the progress bar has no label")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := eval[[]float64](trainer, `(() => { const p = document.getElementById("job-progress"); return [p.value, p.max] })()`)
		if v[1] == 150 && v[0] == 150 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress bar at %v after 60s", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	trainer.do(chromedp.WaitVisible(chromedp.CSS(`[data-finished="true"]`)))
	if pct := trainer.text("#job-percent"); pct != "100" {
		t.Errorf("percentage shown %q, want 100", pct)
	}
	trainer.audit("job", "fr")
	if n := ts.credentialCount(t, achID); n != 152 {
		t.Errorf("%d credentials of the achievement, want 152", n)
	}
	admin.auditBoth("credentials", "/manage/ac-lyon/credentials")
	admin.auditBoth("statistics", "/manage/ac-lyon/statistics")
	// Revoking from the list.
	admin.open("/manage/ac-lyon/credentials")
	admin.do(chromedp.SetValue(chromedp.CSS(`select[name=action]`), "revoke"), chromedp.SendKeys(chromedp.CSS(`input[name=reason]`), "attribué par erreur"))
	admin.submit(`.inline-form button[type=submit]`)
	if !strings.Contains(admin.text(".alert-success"), "statut") {
		t.Errorf("after revoking: %s", admin.text("main"))
	}

	// Automation: a Moodle course mapped to the badge, a parcours built on
	// it, an LMS client; the learner's progress.
	pathID := ts.createAchievement(t, ts.Root, "ac-lyon", "Parcours coopération")
	admin.open("/manage/ac-lyon/rules")
	admin.do(chromedp.SetValue(chromedp.ID("kind"), "moodle-course"), chromedp.SendKeys(chromedp.ID("activity"), "42"),
		chromedp.SetValue(chromedp.ID("achievement"), achID))
	admin.submit(`form[action="/manage/ac-lyon/mappings"] button[type=submit]`)
	if !strings.Contains(admin.text("table"), "42") {
		t.Fatalf("mapping not listed: %s", admin.text("main"))
	}
	admin.do(chromedp.SetValue(chromedp.ID("parcours_achievement"), pathID),
		chromedp.Click(chromedp.CSS(`input[name=module][value="`+achID+`"]`)))
	admin.submit(`form[action="/manage/ac-lyon/parcours"] button[type=submit]`)
	if !strings.Contains(admin.text(".list-cards"), "Parcours coopération") {
		t.Fatalf("parcours not listed: %s", admin.text("main"))
	}
	// A badge that waits for a second assessor cannot be awarded by a
	// completion: the rules page lists it as failed, with a retry button.
	strict := achievementSpec("Évaluation certificative")
	strict["requireSecondAssessor"] = true
	strictURL, _ := ts.must(t, 201, "POST", "/api/v1/issuers/ac-lyon/achievements", req{Bearer: ts.Root, JSON: strict}).obj(t)["id"].(string)
	ts.must(t, 201, "POST", "/api/v1/mappings", req{Bearer: ts.Root, JSON: map[string]any{"kind": "moodle-course", "activity": "77", "achievement": strictURL}})
	ts.must(t, 200, "POST", "/api/v1/completions", req{Bearer: ts.Root, JSON: []map[string]any{{"learner": map[string]string{"email": "claire.durand@ac-lyon.fr"},
		"activity": map[string]string{"moodleCourseId": "77", "name": "Évaluation certificative"}, "completed": true, "at": "2026-11-20T14:00:00Z"}}})
	admin.auditBoth("rules", "/manage/ac-lyon/rules")
	admin.open("/manage/ac-lyon/rules")
	admin.submit(`form[action^="/manage/ac-lyon/completion-awards/"] button[type=submit]`)
	if !strings.Contains(admin.text(".alert"), "toujours pas") || !strings.Contains(admin.text("main"), "claire.durand@ac-lyon.fr") {
		t.Errorf("after retrying a failed award: %s", admin.text("main"))
	}
	admin.open("/manage/ac-lyon/lms")
	admin.do(chromedp.SendKeys(chromedp.ID("name"), "Magistère Lyon"))
	admin.submit(`form[action="/manage/ac-lyon/lms"] button[type=submit]`)
	if key := admin.text("#lms-key"); !strings.HasPrefix(key, "lms_") {
		t.Fatalf("LMS key shown as %q", key)
	}
	admin.audit("lms-created", "fr")
	admin.auditBoth("lms", "/manage/ac-lyon/lms")
	learner.auditBoth("parcours", "/backpack/parcours")
	if p := learner.text(".parcours"); !strings.Contains(p, "Parcours coopération") || !strings.Contains(p, "Modules obtenus : 1 sur 1") {
		t.Errorf("parcours progress: %q", p)
	}

	// HR verifies an attestation: the PDF dropped on the verify page,
	// then the code's link (the QR code's target).
	body := map[string]any{"issuer": "ac-lyon", "learner": map[string]string{"email": "ana.martin@ac-lyon.fr", "name": "Ana Martin"},
		"title": "Différencier en classe hétérogène", "start": "2026-10-12", "end": "2026-10-13", "hoursInPerson": 6, "hoursRemote": 3,
		"organiser": "EAFC de l'académie de Lyon", "trainers": []string{"Éloïse Martin"}, "competencies": []string{"CC4", "P3"},
		"signatory": map[string]string{"name": "Françoise Bézier", "role": "Directrice de l'EAFC"}}
	var att struct{ ID, Code, PDF string }
	ts.must(t, 201, "POST", "/api/v1/attestations", req{Bearer: ts.Root, JSON: body}).json(t, &att)
	pdfFile := filepath.Join(t.TempDir(), "attestation.pdf")
	os.WriteFile(pdfFile, ts.must(t, 200, "GET", strings.TrimPrefix(att.PDF, ts.URL), req{Bearer: ts.Root}).Body, 0o644)
	hr := newBrowser()
	hr.auditBoth("verify", "/verify")
	hr.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{pdfFile}))
	hr.submit(`form[action="/verify"] button[type=submit]`)
	if v := hr.text(".verdict-label"); v != "Valide" {
		t.Fatalf("verify page verdict %q: %s", v, hr.text("main"))
	}
	if !strings.Contains(hr.text(".facts-list"), "Différencier en classe hétérogène") {
		t.Errorf("verify result lacks the authentic title: %s", hr.text("main"))
	}
	hr.audit("verify-result", "fr")
	hr.auditBoth("verify-code", "/v/"+att.Code)
	if v := hr.text(".verdict-label"); v != "Valide" {
		t.Errorf("code page verdict %q", v)
	}

	// A session's attestations: the form (a problem named on a line of
	// the participants' file), the progress bar to the end, the downloads.
	trainer.auditBoth("attestation-batches", "/manage/ac-lyon/attestations")
	var parts strings.Builder
	parts.WriteString("nom;courriel;établissement;présent\nAna Martin;ana.martin@ac-lyon.fr;Collège Jean Moulin – Lyon;oui\n")
	for i := range 40 {
		fmt.Fprintf(&parts, "Stagiaire %d;stagiaire%03d@ac-lyon.fr;Lycée Ampère – Lyon;%s\n", i, i, map[bool]string{true: "oui", false: "non"}[i%5 != 4])
	}
	partsPath := filepath.Join(t.TempDir(), "participants.csv")
	os.WriteFile(partsPath, []byte(parts.String()), 0o644)
	badParts := filepath.Join(t.TempDir(), "participants-erreur.csv")
	os.WriteFile(badParts, []byte("nom;courriel\nAna Martin;ana.martin@ac-lyon.fr\nJules;pas-une-adresse\n"), 0o644)
	fillSession := func(b *browser, csvPath string) {
		b.do(
			chromedp.SendKeys(chromedp.ID("title"), "Enseigner avec le numérique"),
			chromedp.SetValue(chromedp.ID("start"), "2026-11-16"),
			chromedp.SetValue(chromedp.ID("end"), "2026-11-17"),
			chromedp.SendKeys(chromedp.ID("hoursInPerson"), "6"),
			chromedp.SendKeys(chromedp.ID("hoursRemote"), "1,5"),
			chromedp.SendKeys(chromedp.ID("organiser"), "EAFC de l'académie de Lyon"),
			chromedp.SendKeys(chromedp.ID("trainers"), "Éloïse Martin, Paul Durand"),
			chromedp.SendKeys(chromedp.ID("competencies"), "CC4, CC9"),
			chromedp.SendKeys(chromedp.ID("signatory-name"), "Françoise Bézier"),
			chromedp.SendKeys(chromedp.ID("signatory-role"), "Directrice de l'EAFC"),
			chromedp.SetUploadFiles(chromedp.ID("participants"), []string{csvPath}),
		)
	}
	for _, lang := range []string{"fr", "en"} {
		trainer.open("/manage/ac-lyon/attestations?lang=" + lang)
		fillSession(trainer, badParts)
		trainer.submit(`form[action="/manage/ac-lyon/attestations"] button[type=submit]`)
		if msg := trainer.text(".alert-error"); !strings.Contains(msg, "3") || !strings.Contains(msg, "pas-une-adresse") {
			t.Fatalf("bad participant (%s): %q", lang, msg)
		}
		trainer.audit("attestation-batches-error", lang)
	}
	trainer.open("/manage/ac-lyon/attestations?lang=fr")
	fillSession(trainer, partsPath)
	trainer.submit(`form[action="/manage/ac-lyon/attestations"] button[type=submit]`)
	batchPath := trainer.path()
	if !strings.HasPrefix(batchPath, "/manage/ac-lyon/attestations/") {
		t.Fatalf("after the session form: at %s: %s", batchPath, trainer.text("main"))
	}
	// The bar moves to the end, then the page shows the downloads.
	trainer.do(chromedp.WaitVisible(chromedp.CSS(`a[href$="/attestations.pdf"]`)))
	if v := eval[[]float64](trainer, `(() => { const p = document.getElementById("job-progress"); return [p.value, p.max] })()`); v[0] != 33 || v[1] != 33 {
		t.Errorf("finished batch's progress bar at %v, want 33 of 33", v)
	}
	trainer.auditBoth("attestation-batch", batchPath)
	pdfHref := eval[string](trainer, `document.querySelector('a[href$="/attestations.pdf"]').getAttribute("href")`)
	if res := ts.do(t, "GET", pdfHref, req{Bearer: ts.Root}); res.Status != 200 || !strings.HasPrefix(string(res.Body), "%PDF-") {
		t.Errorf("merged PDF link %s: %d", pdfHref, res.Status)
	}

	// The learner finds the attestations, their exports, and can let an
	// OAuth wallet in.
	learner.auditBoth("attestations", "/backpack/attestations")
	if rows := learner.text("table"); !strings.Contains(rows, "Enseigner avec le numérique") || !strings.Contains(rows, "Différencier en classe hétérogène") {
		t.Errorf("learner's attestations: %s", rows)
	}
	if href := eval[string](learner, `document.querySelector('a[href$="/pdf"]').getAttribute("href")`); !strings.HasPrefix(href, "/backpack/attestations/") {
		t.Errorf("attestation PDF link %q", href)
	}
	learner.auditBoth("exports", "/backpack/exports")
	wallet := ts.must(t, 201, "POST", "/ims/ob/v3p0/register", req{JSON: registration(allOBScopes)}).obj(t)
	consent := "/ims/ob/v3p0/authorize?" + url.Values{"response_type": {"code"}, "client_id": {wallet["client_id"].(string)},
		"redirect_uri": {walletRedirect}, "scope": {allOBScopes}, "state": {"s1"}, "code_challenge": {oauth.S256Challenge(newVerifier())},
		"code_challenge_method": {"S256"}}.Encode()
	learner.auditBoth("consent", consent)
	if h := learner.text("h1"); !strings.Contains(h, "Portefeuille de test") {
		t.Errorf("consent page heading %q", h)
	}
	// The import form, with the problem of a file that is no badge.
	notBadge := filepath.Join(t.TempDir(), "notes.json")
	os.WriteFile(notBadge, []byte(`{"note": "pas un badge"}`), 0o644)
	for _, lang := range []string{"fr", "en"} {
		learner.open("/backpack?lang=" + lang)
		learner.do(chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{notBadge}))
		learner.submit(`form[action="/backpack/import"] button[type=submit]`)
		if learner.text(".alert-error") == "" {
			t.Fatalf("importing a file that is no badge (%s): %s", lang, learner.text("main"))
		}
		learner.audit("backpack-import-error", lang)
	}
	learner.open("/backpack?lang=fr")

	// The platform administrator's statistics across issuers (a second
	// académie has awarded some).
	ts.createIssuer(t, "ac-nice")
	niceEmails := make([]string, 40)
	for i := range niceEmails {
		niceEmails[i] = fmt.Sprintf("stagiaire%02d@ac-nice.fr", i)
	}
	ts.award(t, ts.Root, ts.createAchievement(t, ts.Root, "ac-nice", "Enseigner en classe inversée"), niceEmails...)
	operator := newBrowser()
	operator.signIn("operateur@education.gouv.fr", pw)
	operator.auditBoth("statistics-all", "/statistics")
	if n := eval[float64](operator, `[...document.querySelectorAll("img.chart-img")].filter(i => i.complete && i.naturalWidth > 0).length`); n != 6 {
		t.Errorf("%v of the 6 charts of every issuer shown", n)
	}

	// Another learner erases her data, the box ticked.
	lea := newBrowser()
	lea.signIn("lea.petit@ac-lyon.fr", pw)
	lea.open("/backpack/exports?lang=fr")
	lea.do(chromedp.Click(chromedp.ID("erase-confirm")))
	lea.submit(`form[action="/backpack/erase"] button[type=submit]`)
	if h := lea.text("h1"); h != "Vos données ont été effacées" {
		t.Fatalf("after erasing: %q: %s", h, lea.text("main"))
	}
	lea.audit("erased", "fr")

	// The keyboard alone: sign in and reach one's badges with Tab and
	// Enter, the focus always visible.
	keys := newBrowser()
	keys.open("/?lang=fr")
	keys.tabTo(`el.classList.contains("skip-link")`)
	if top := eval[float64](keys, `document.activeElement.getBoundingClientRect().top`); top < 0 {
		t.Errorf("the focused skip link is off screen (top %v)", top)
	}
	keys.tabTo(`el.getAttribute("href") === "/signin" && el.closest("header")`)
	keys.press(kb.Enter)
	keys.tabTo(`el.id === "email"`)
	keys.do(chromedp.KeyEvent("ana.martin@ac-lyon.fr"))
	keys.tabTo(`el.id === "password"`)
	keys.do(chromedp.KeyEvent(pw))
	keys.press(kb.Enter)
	if p := keys.path(); p != "/" {
		t.Fatalf("keyboard sign-in: at %s", p)
	}
	keys.tabTo(`el.getAttribute("href") === "/backpack" && el.closest("nav")`)
	keys.press(kb.Enter)
	if p := keys.path(); p != "/backpack" || !strings.Contains(keys.text("main"), "Coopérer") {
		t.Fatalf("keyboard journey ended at %s: %s", p, keys.text("main"))
	}
	keys.screenshot("keyboard-backpack")
}

// press sends a key and waits for the page it may load.
func (b *browser) press(key string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 90*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.KeyEvent(key)); err != nil {
		b.t.Fatalf("key %q: %v", key, err)
	}
}

// tabTo presses Tab until the focused element el satisfies cond, checking
// at each step that the focus is visible (an outline).
func (b *browser) tabTo(cond string) {
	b.t.Helper()
	for range 60 {
		b.do(chromedp.KeyEvent(kb.Tab))
		st := eval[map[string]any](b, `(() => { const el = document.activeElement; const s = getComputedStyle(el);
			return {tag: el.tagName, text: (el.innerText || el.id || "").slice(0, 40), outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,
			        match: !!(`+cond+`)} })()`)
		if st["outline"] == "none" || st["width"].(float64) < 2 {
			b.t.Errorf("focus on <%v> %q is not visible (outline %v %v)", st["tag"], st["text"], st["outline"], st["width"])
		}
		if st["match"] == true {
			return
		}
	}
	b.t.Fatalf("Tab never reached an element where %s", cond)
}

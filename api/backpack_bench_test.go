package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/insigne/insigne/store/storetest"
)

// BenchmarkBackpackListingHTTP: a signed-in learner's backpack listing
// (20 credentials) over HTTP, through every middleware: the server's CPU
// per request, to profile with -cpuprofile. The 1,000,000-credential
// figure is tools/load's backpack scenario (docs/performance.md).
func BenchmarkBackpackListingHTTP(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			bp := newBPServer(b, be.DSN(b))
			emails := make([]string, 20)
			for i := range emails {
				emails[i] = "anne@example.org"
			}
			bp.award(b, bp.Root, bp.Ach, emails...)
			req, err := http.NewRequest("GET", bp.URL+"/api/v1/backpack/credentials", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.AddCookie(&http.Cookie{Name: "insigne_session", Value: bp.AnneS.Cookie})
			client := &http.Client{}
			for b.Loop() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatal(fmt.Sprintf("%s: %.200s", res.Status, body))
				}
			}
		})
	}
}

// BenchmarkVerifyHTTP: POST /api/v1/verify of one of this service's
// credentials (its issuer profile and status list resolved from this
// service): the CPU of a verification, to profile with -cpuprofile.
func BenchmarkVerifyHTTP(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			bp := newBPServer(b, be.DSN(b))
			ids := bp.award(b, bp.Root, bp.Ach, "anne@example.org")
			cred := bp.must(b, 200, "GET", "/credentials/"+ids[0], req{Header: map[string]string{"Accept": "application/vc+ld+json"}})
			client := &http.Client{}
			for b.Loop() {
				res, err := client.Post(bp.URL+"/api/v1/verify", "application/json", bytes.NewReader(cred.Body))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"valid"`)) {
					b.Fatal(fmt.Sprintf("%s: %.300s", res.Status, body))
				}
			}
		})
	}
}

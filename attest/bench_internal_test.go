package attest

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRender: drawing one attestation PDF (fonts subset and
// embedded, QR code, credential attached), without signing.
func BenchmarkRender(b *testing.B) {
	fl := sampleFields()
	cred := make([]byte, 4500)
	for i := range cred {
		cred[i] = 'a' + byte(i%26)
	}
	var size int
	var z deflaters
	cpu0 := cpuTime()
	for b.Loop() {
		pdf, err := render(rendering{Fields: fl, Code: "ABCD2345XY", VerifyURL: "https://formation.example.fr/v/ABCD2345XY", Credential: cred}, &z)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes/pdf")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/pdf")
}

// BenchmarkRenderMerged100: one merged PDF of 100 attestations (the last
// step of a batch with output "pdf"), per attestation.
func BenchmarkRenderMerged100(b *testing.B) {
	fl := sampleFields()
	cred := make([]byte, 4500)
	for i := range cred {
		cred[i] = 'a' + byte(i%26)
	}
	rs := make([]rendering, 100)
	names := make([]string, 100)
	for i := range rs {
		code := fmt.Sprintf("ABCD%04dXY", i)
		rs[i] = rendering{Fields: fl, Code: code, VerifyURL: "https://formation.example.fr/v/" + code, Credential: cred}
		names[i] = fmt.Sprintf("%04d-participant-%s.json", i+1, code)
	}
	var size int
	cpu0 := cpuTime()
	for b.Loop() {
		pdf, err := renderMerged(context.Background(), Session{}, rs, names, func() error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size)/100, "bytes/attestation")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N)/100, "cpu-ms/attestation")
}

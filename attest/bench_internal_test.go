package attest

import "testing"

// BenchmarkRender: drawing one attestation PDF (fonts subset and
// embedded, QR code, credential attached), without signing.
func BenchmarkRender(b *testing.B) {
	fl := sampleFields()
	cred := make([]byte, 4500)
	for i := range cred {
		cred[i] = 'a' + byte(i%26)
	}
	var size int
	cpu0 := cpuTime()
	for b.Loop() {
		pdf, err := render(rendering{Fields: fl, Code: "ABCD2345XY", VerifyURL: "https://formation.example.fr/v/ABCD2345XY", Credential: cred})
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes/pdf")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/float64(b.N), "cpu-ms/pdf")
}

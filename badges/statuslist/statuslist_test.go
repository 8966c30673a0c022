package statuslist

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const examples = "../../testdata/examples/1edtech-validator-ob30/bit-string-list"

func readJSON(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examples, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOfficialList reads the BitstringStatusListCredential of the official
// 1EdTech validator, whose README says bit 23 is set.
func TestOfficialList(t *testing.T) {
	cred := readJSON(t, "testlist")
	for i, want := range map[int]bool{0: false, 22: false, 23: true, 24: false, MinSize - 1: false} {
		got, err := StatusFromListCredential(cred, PurposeRevocation, i)
		if err != nil || got != want {
			t.Errorf("bit %d = %v, %v; want %v", i, got, err, want)
		}
	}

	// Exactly one bit is set: byte 2 is 0x01, so index 0 must be the most
	// significant bit (LSB-first would have made it 16).
	b, err := Decode(cred["credentialSubject"].(map[string]any)["encodedList"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 131072 {
		t.Errorf("Len = %d, want 131072", b.Len())
	}
	if got := setBits(t, b); !reflect.DeepEqual(got, []int{23}) {
		t.Errorf("set bits = %v, want [23]", got)
	}

	if _, err := StatusFromListCredential(cred, PurposeSuspension, 23); err == nil || !strings.Contains(err.Error(), "statusPurpose") {
		t.Errorf("wrong purpose: err = %v", err)
	}
	if _, err := StatusFromListCredential(cred, PurposeRevocation, MinSize); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("index past the end: err = %v, want ErrOutOfRange", err)
	}
}

// TestOfficialEntry reads the credentialStatus of the credential that the
// official list revokes; it uses a JSON number for statusListIndex.
func TestOfficialEntry(t *testing.T) {
	cred := readJSON(t, "credential-status-revoked.json")
	status, _ := cred["credentialStatus"].(map[string]any)
	e, index, err := ParseEntry(status)
	if err != nil {
		t.Fatal(err)
	}
	const list = "https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist"
	want := Entry{ID: list + "#23", Type: EntryType, StatusPurpose: PurposeRevocation, StatusListIndex: "23", StatusListCredential: list}
	if index != 23 || e != want {
		t.Errorf("ParseEntry = %+v, %d; want %+v, 23", e, index, want)
	}
	if e != NewEntry(list, PurposeRevocation, 23) {
		t.Errorf("NewEntry differs from the official entry")
	}
	revoked, err := StatusFromListCredential(readJSON(t, "testlist"), e.StatusPurpose, index)
	if err != nil || !revoked {
		t.Errorf("official credential: revoked = %v, %v; want true", revoked, err)
	}
}

func setBits(t *testing.T, b *Bitstring) []int {
	t.Helper()
	var set []int
	for i := range b.Len() {
		v, err := b.Get(i)
		if err != nil {
			t.Fatal(err)
		}
		if v {
			set = append(set, i)
		}
	}
	return set
}

func TestNew(t *testing.T) {
	for size, want := range map[int]int{0: MinSize, 1: MinSize, MinSize: MinSize, MinSize + 1: MinSize + 8, 1 << 20: 1 << 20} {
		b, err := New(size)
		if err != nil || b.Len() != want {
			t.Errorf("New(%d).Len() = %v, %v; want %d", size, b, err, want)
		}
	}
	for _, size := range []int{-1, MaxDecodedSize*8 + 1, 1 << 62} {
		if _, err := New(size); err == nil {
			t.Errorf("New(%d) accepted", size)
		}
	}
}

func TestSetGet(t *testing.T) {
	b, err := New(MinSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 7, 8, 23, MinSize - 1} {
		if err := b.Set(i, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := setBits(t, b); !reflect.DeepEqual(got, []int{0, 7, 8, 23, MinSize - 1}) {
		t.Errorf("set bits = %v", got)
	}
	if b.bits[0] != 0x81 || b.bits[1] != 0x80 || b.bits[2] != 0x01 || b.bits[len(b.bits)-1] != 0x01 {
		t.Errorf("bit order: bytes % x … % x", b.bits[:3], b.bits[len(b.bits)-1])
	}
	if err := b.Set(7, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Get(7); v {
		t.Error("Set(7, false) did not clear")
	}
	if v, _ := b.Get(0); !v {
		t.Error("Set(7, false) cleared bit 0")
	}
	for _, i := range []int{-1, MinSize, MinSize + 8, -1 << 62} {
		if err := b.Set(i, true); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Set(%d): err = %v, want ErrOutOfRange", i, err)
		}
		if _, err := b.Get(i); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Get(%d): err = %v, want ErrOutOfRange", i, err)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	for _, size := range []int{MinSize, 1 << 20} {
		b, err := New(size)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range 1000 {
			if err := b.Set(r.IntN(b.Len()), true); err != nil {
				t.Fatal(err)
			}
		}
		enc, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, "uH4sI") || strings.ContainsAny(enc, "+/=") {
			t.Errorf("encoding %.20q… is not multibase base64url-no-pad GZIP", enc)
		}
		for _, s := range []string{enc, enc[1:]} { // with and without "u"
			got, err := Decode(s)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(got.bits, b.bits) {
				t.Errorf("size %d: round trip changed the bits", size)
			}
		}
	}
}

func gzipped(t testing.TB, data []byte) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

func TestDecodeErrors(t *testing.T) {
	// 64 MiB of zeros compress to about 64 KiB: refused without being
	// inflated in full.
	bomb := gzipped(t, make([]byte, 64<<20))
	if len(bomb) > 200<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	if _, err := Decode(bomb); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("gzip bomb: err = %v", err)
	}
	// Exactly at the limit is fine.
	if b, err := Decode(gzipped(t, make([]byte, MaxDecodedSize))); err != nil || b.Len() != MaxDecodedSize*8 {
		t.Errorf("list at the limit: %v", err)
	}

	tests := map[string]string{
		"":                                "not GZIP",
		"u":                               "not GZIP",
		"u!!!!":                           "base64url",
		"uH4sI+AAA":                       "base64url",
		"u" + strings.Repeat("A", 40):     "not GZIP",
		gzipped(t, nil):                   "empty",
		gzipped(t, []byte{1, 2})[:20]:     "decompress",
		"u" + strings.Repeat("A", 30<<20): "too long",
	}
	for in, want := range tests {
		_, err := Decode(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%.20q): err = %v, want it to mention %q", in, err, want)
		}
	}
}

func TestEntry(t *testing.T) {
	const list = "https://example.com/status/1"
	e := NewEntry(list, PurposeSuspension, 42)
	m := e.Map()
	want := map[string]any{
		"id": list + "#42", "type": EntryType, "statusPurpose": PurposeSuspension,
		"statusListIndex": "42", "statusListCredential": list,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Map = %v, want %v", m, want)
	}
	// Through JSON and back, as a verifier would see it.
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	got, index, err := ParseEntry(back)
	if err != nil || got != e || index != 42 {
		t.Errorf("ParseEntry = %+v, %d, %v", got, index, err)
	}

	// Accepted index forms.
	for _, v := range []any{"7", "007", 7.0, json.Number("7"), json.Number("7.0"), 7, int64(7)} {
		in := NewEntry(list, PurposeRevocation, 0).Map()
		in["statusListIndex"] = v
		if _, index, err := ParseEntry(in); err != nil || index != 7 {
			t.Errorf("statusListIndex %#v: %d, %v", v, index, err)
		}
	}
	// An absent id is fine; "type" may be an array.
	in := NewEntry(list, PurposeRevocation, 3).Map()
	delete(in, "id")
	in["type"] = []any{EntryType}
	in["statusSize"] = 1.0
	if e, _, err := ParseEntry(in); err != nil || e.ID != "" {
		t.Errorf("no id: %+v, %v", e, err)
	}
	if _, ok := (Entry{StatusListIndex: "1"}).Map()["id"]; ok {
		t.Error("Map emits an empty id")
	}

	bad := map[string]func(m map[string]any){
		"nil type":          func(m map[string]any) { delete(m, "type") },
		"other type":        func(m map[string]any) { m["type"] = "StatusList2021Entry" },
		"numeric type":      func(m map[string]any) { m["type"] = 1.0 },
		"no purpose":        func(m map[string]any) { delete(m, "statusPurpose") },
		"purpose array":     func(m map[string]any) { m["statusPurpose"] = []any{"revocation"} },
		"no list":           func(m map[string]any) { delete(m, "statusListCredential") },
		"relative list":     func(m map[string]any) { m["statusListCredential"] = "status/1" },
		"id is the list":    func(m map[string]any) { m["id"] = list },
		"numeric id":        func(m map[string]any) { m["id"] = 3.0 },
		"no index":          func(m map[string]any) { delete(m, "statusListIndex") },
		"negative string":   func(m map[string]any) { m["statusListIndex"] = "-1" },
		"plus sign":         func(m map[string]any) { m["statusListIndex"] = "+1" },
		"hex":               func(m map[string]any) { m["statusListIndex"] = "0x10" },
		"empty index":       func(m map[string]any) { m["statusListIndex"] = "" },
		"negative number":   func(m map[string]any) { m["statusListIndex"] = -1.0 },
		"fraction":          func(m map[string]any) { m["statusListIndex"] = 1.5 },
		"huge string":       func(m map[string]any) { m["statusListIndex"] = "99999999999999999999999" },
		"huge number":       func(m map[string]any) { m["statusListIndex"] = 1e300 },
		"bool index":        func(m map[string]any) { m["statusListIndex"] = true },
		"statusSize 2":      func(m map[string]any) { m["statusSize"] = 2.0 },
		"statusSize string": func(m map[string]any) { m["statusSize"] = "x" },
	}
	for name, mutate := range bad {
		m := NewEntry(list, PurposeRevocation, 5).Map()
		mutate(m)
		if _, _, err := ParseEntry(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := ParseEntry(nil); err == nil {
		t.Error("nil: accepted")
	}
}

func TestListCredential(t *testing.T) {
	const id = "https://example.com/credentials/status/3"
	b, err := New(MinSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(23, true); err != nil {
		t.Fatal(err)
	}
	validFrom := time.Date(2021, 4, 5, 15, 27, 40, 123, time.FixedZone("CET", 3600))
	cred, err := ListCredential(id, "https://1edtech.edu/issuers/565049", PurposeRevocation, b, validFrom)
	if err != nil {
		t.Fatal(err)
	}
	// Same shape as the official list (minus its proof), through JSON.
	raw, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := readJSON(t, "testlist")
	delete(want, "proof")
	// GZIP output is not canonical: compare the decoded bits instead.
	gotList := got["credentialSubject"].(map[string]any)["encodedList"].(string)
	wantList := want["credentialSubject"].(map[string]any)["encodedList"].(string)
	gb, err1 := Decode(gotList)
	wb, err2 := Decode(wantList)
	if err1 != nil || err2 != nil || !bytes.Equal(gb.bits, wb.bits) {
		t.Errorf("encodedList differs from the official one: %v %v", err1, err2)
	}
	got["credentialSubject"].(map[string]any)["encodedList"] = wantList
	// The official list names its subject differently; ours is id#list.
	if sid := got["credentialSubject"].(map[string]any)["id"]; sid != id+"#list" {
		t.Errorf("credentialSubject.id = %v, want %s#list", sid, id)
	}
	got["credentialSubject"].(map[string]any)["id"] = want["credentialSubject"].(map[string]any)["id"]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListCredential =\n%s\nwant\n%v", raw, want)
	}
	// And the arrays are []any, for JSON-LD processors.
	if _, ok := cred["type"].([]any); !ok {
		t.Errorf("type is %T, want []any", cred["type"])
	}
	if set, err := StatusFromListCredential(cred, PurposeRevocation, 23); err != nil || !set {
		t.Errorf("StatusFromListCredential on our own list: %v, %v", set, err)
	}

	short := &Bitstring{bits: make([]byte, 100)}
	for name, call := range map[string]func() (map[string]any, error){
		"relative id": func() (map[string]any, error) {
			return ListCredential("status/3", "i", PurposeRevocation, b, validFrom)
		},
		"fragment id":   func() (map[string]any, error) { return ListCredential(id+"#x", "i", PurposeRevocation, b, validFrom) },
		"no issuer":     func() (map[string]any, error) { return ListCredential(id, "", PurposeRevocation, b, validFrom) },
		"message":       func() (map[string]any, error) { return ListCredential(id, "i", "message", b, validFrom) },
		"empty purpose": func() (map[string]any, error) { return ListCredential(id, "i", "", b, validFrom) },
		"nil list":      func() (map[string]any, error) { return ListCredential(id, "i", PurposeRevocation, nil, validFrom) },
		"short list":    func() (map[string]any, error) { return ListCredential(id, "i", PurposeRevocation, short, validFrom) },
		"zero time":     func() (map[string]any, error) { return ListCredential(id, "i", PurposeRevocation, b, time.Time{}) },
	} {
		if _, err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStatusFromListCredentialErrors(t *testing.T) {
	short := gzipped(t, make([]byte, 100))
	tests := map[string]struct {
		mutate func(cred, subject map[string]any)
		want   string
	}{
		"no type":              {func(c, s map[string]any) { delete(c, "type") }, "type"},
		"not a list":           {func(c, s map[string]any) { c["type"] = []any{"VerifiableCredential"} }, "BitstringStatusListCredential"},
		"not a VC":             {func(c, s map[string]any) { c["type"] = "BitstringStatusListCredential" }, "VerifiableCredential"},
		"no subject":           {func(c, s map[string]any) { delete(c, "credentialSubject") }, "credentialSubject"},
		"two subjects":         {func(c, s map[string]any) { c["credentialSubject"] = []any{s, s} }, "credentialSubject"},
		"subject type":         {func(c, s map[string]any) { s["type"] = "StatusList2021" }, "BitstringStatusList"},
		"purpose":              {func(c, s map[string]any) { s["statusPurpose"] = "suspension" }, "statusPurpose"},
		"purpose missing":      {func(c, s map[string]any) { delete(s, "statusPurpose") }, "statusPurpose"},
		"no encodedList":       {func(c, s map[string]any) { delete(s, "encodedList") }, "encodedList"},
		"bad encodedList":      {func(c, s map[string]any) { s["encodedList"] = "u!!" }, "base64url"},
		"short encodedList":    {func(c, s map[string]any) { s["encodedList"] = short }, "fewer than"},
		"subject in array":     {func(c, s map[string]any) { c["credentialSubject"] = []any{s} }, ""},
		"purposes in array":    {func(c, s map[string]any) { s["statusPurpose"] = []any{"suspension", "revocation"} }, ""},
		"purposes as []string": {func(c, s map[string]any) { s["statusPurpose"] = []string{"revocation"} }, ""},
	}
	for name, tt := range tests {
		cred := readJSON(t, "testlist")
		tt.mutate(cred, cred["credentialSubject"].(map[string]any))
		set, err := StatusFromListCredential(cred, PurposeRevocation, 23)
		if tt.want == "" {
			if err != nil || !set {
				t.Errorf("%s: %v, %v; want true", name, set, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tt.want)
		}
	}
	if _, err := StatusFromListCredential(nil, PurposeRevocation, 0); err == nil {
		t.Error("nil credential accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(readJSON(f, "testlist")["credentialSubject"].(map[string]any)["encodedList"].(string))
	f.Add(gzipped(f, []byte{0xFF}))
	f.Add(gzipped(f, nil))
	f.Add("H4sIAAAAAAAA_-3BMQEAAAzDoMy_6cnoA9QFAAAAAAAAAAAAAAAAAAAAbD3uPa2cAEAAAA==")
	f.Add("u")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		if b.Len() == 0 || b.Len()%8 != 0 || b.Len() > MaxDecodedSize*8 {
			t.Fatalf("Len = %d", b.Len())
		}
		if _, err := b.Get(b.Len() - 1); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Get(b.Len()); err == nil {
			t.Fatal("Get past the end succeeded")
		}
		enc, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Decode(enc)
		if err != nil || !bytes.Equal(again.bits, b.bits) {
			t.Fatalf("re-encoding does not round-trip: %v", err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	list, err := New(MinSize)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 { // a realistic, mostly empty list
		if err := list.Set(r.IntN(list.Len()), true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := list.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

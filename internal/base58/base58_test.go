package base58

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// Vectors from Bitcoin Core, src/test/data/base58_encode_decode.json.
var base58Vectors = []struct{ hex, b58 string }{
	{"", ""},
	{"61", "2g"},
	{"626262", "a3gV"},
	{"636363", "aPEr"},
	{"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
	{"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
	{"516b6fcd0f", "ABnLTmg"},
	{"bf4f89001e670274dd", "3SEo3LWLoPntC"},
	{"572e4794", "3EFU7m"},
	{"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
	{"10c8511e", "Rt5zm"},
	{"00000000000000000000", "1111111111"},
	{"00000000000000000000000000000000000000000000000000000000000000000000000000000001", "1111111111111111111111111111111111111112"},
	{"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5", "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
	{"271F359E", "zzzzy"},
	{"271F359F", "zzzzz"},
	{"271F35A0", "211111"},
}

func TestBase58Vectors(t *testing.T) {
	for _, v := range base58Vectors {
		b := mustHex(t, v.hex)
		if got := Encode(b); got != v.b58 {
			t.Errorf("encode(%s) = %q, want %q", v.hex, got, v.b58)
		}
		got, err := Decode(v.b58)
		if err != nil {
			t.Errorf("decode(%q): %v", v.b58, err)
			continue
		}
		if !bytes.Equal(got, b) {
			t.Errorf("decode(%q) = %x, want %s", v.b58, got, v.hex)
		}
	}
}

func TestBase58DecodeRejects(t *testing.T) {
	// 0, O, I and l are not in the Bitcoin alphabet.
	for _, s := range []string{"0", "O", "I", "l", "2g ", " 2g", "2g\n", "+", "é", "\x00", "zz\xff"} {
		if _, err := Decode(s); err == nil {
			t.Errorf("decode(%q) succeeded", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range base58Vectors {
		f.Add(v.b58)
	}
	f.Add("0OIl")
	f.Add("111z\x00")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 {
			return // the decoder is quadratic; callers cap input
		}
		b, err := Decode(s)
		if err != nil {
			return
		}
		// base58btc is a bijection between byte strings and valid
		// strings, so decoding then encoding must give s back.
		if got := Encode(b); got != s {
			t.Fatalf("encode(decode(%q)) = %q", s, got)
		}
	})
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

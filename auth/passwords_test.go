package auth

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// cheapParams keep tests fast where the cost does not matter.
var cheapParams = argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Known answers from the Argon2 reference implementation's test suite
// (P-H-C/phc-winner-argon2, src/test.c, Argon2id, version 0x13). The
// RFC 9106 §5.3 vector cannot be used: it also feeds a secret key K and
// associated data X, which golang.org/x/crypto/argon2 does not expose.
var referenceVectors = []struct {
	pw, salt string
	t, m, p  uint32
	tagHex   string
	encoded  string
}{
	{"password", "somesalt", 2, 65536, 1,
		"09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
	{"password", "somesalt", 2, 256, 1,
		"9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"password", "somesalt", 2, 256, 2,
		"6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
	{"password", "somesalt", 1, 65536, 1,
		"f6a5adc1ba723dddef9b5ac1d464e180fcd9dffc9d1cbf76cca2fed795d9ca98",
		"$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"},
	{"differentpassword", "somesalt", 2, 65536, 1,
		"0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
	{"password", "diffsalt", 2, 65536, 1,
		"bdf32b05ccc42eb15d58fd19b1f856b113da1e9a5874fdcc544308565aa8141c",
		"$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"},
}

func TestCheckPasswordReferenceVectors(t *testing.T) {
	for _, v := range referenceVectors {
		t.Run(v.encoded, func(t *testing.T) {
			h, err := parsePHC(v.encoded)
			if err != nil {
				t.Fatalf("parsePHC: %v", err)
			}
			if got := hex.EncodeToString(h.key); got != v.tagHex {
				t.Errorf("decoded tag %s, want %s", got, v.tagHex)
			}
			if string(h.salt) != v.salt || h.params.Time != v.t || h.params.Memory != v.m || uint32(h.params.Threads) != v.p {
				t.Errorf("parsed %+v salt %q, want t=%d m=%d p=%d salt %q", h.params, h.salt, v.t, v.m, v.p, v.salt)
			}
			if got := h.String(); got != v.encoded {
				t.Errorf("formats back as %s", got)
			}
			ok, err := CheckPassword(v.encoded, v.pw)
			if err != nil || !ok {
				t.Errorf("CheckPassword(right password) = %v, %v; want true", ok, err)
			}
			ok, err = CheckPassword(v.encoded, v.pw+"x")
			if err != nil || ok {
				t.Errorf("CheckPassword(wrong password) = %v, %v; want false", ok, err)
			}
		})
	}
}

func TestHashPasswordDefault(t *testing.T) {
	enc, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=2,p=1$") {
		t.Errorf("HashPassword = %s, want the default parameters in the string", enc)
	}
	h, err := parsePHC(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.salt) != 16 || len(h.key) != 32 {
		t.Errorf("salt %d bytes, hash %d bytes; want 16 and 32", len(h.salt), len(h.key))
	}
	if ok, err := CheckPassword(enc, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("round trip: %v, %v", ok, err)
	}
	if ok, err := CheckPassword(enc, "Correct horse battery staple"); ok || err != nil {
		t.Errorf("wrong password: %v, %v", ok, err)
	}
}

func TestHashPasswordSaltsDiffer(t *testing.T) {
	a, err := hashPassword("same", cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := hashPassword("same", cheapParams)
	if a == b {
		t.Error("two hashes of the same password are equal: salt is not random")
	}
}

// The parameters in the string, not the current defaults, drive checking:
// hashes made with other costs keep working when the defaults change.
func TestCheckPasswordUsesStoredParams(t *testing.T) {
	enc, err := hashPassword("pw", argon2Params{Memory: 32, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=32,t=3,p=2$") {
		t.Fatalf("encoded %s", enc)
	}
	if ok, err := CheckPassword(enc, "pw"); !ok || err != nil {
		t.Errorf("CheckPassword = %v, %v", ok, err)
	}
}

func TestPasswordLengthRules(t *testing.T) {
	enc, _ := hashPassword("x", cheapParams)
	long := strings.Repeat("a", MaxPasswordBytes)
	if _, err := hashPassword(long, cheapParams); err != nil {
		t.Errorf("password of exactly %d bytes: %v", MaxPasswordBytes, err)
	}
	for _, tc := range []struct {
		pw   string
		want error
	}{
		{"", ErrPasswordEmpty},
		{long + "a", ErrPasswordTooLong},
	} {
		if _, err := HashPassword(tc.pw); !errors.Is(err, tc.want) {
			t.Errorf("HashPassword(%d bytes) error %v, want %v", len(tc.pw), err, tc.want)
		}
		if ok, err := CheckPassword(enc, tc.pw); ok || !errors.Is(err, tc.want) {
			t.Errorf("CheckPassword(%d bytes) = %v, %v; want %v", len(tc.pw), ok, err, tc.want)
		}
	}
}

func TestCheckPasswordTampered(t *testing.T) {
	enc, err := hashPassword("secret", cheapParams)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndexByte(enc, '$')
	j := strings.LastIndexByte(enc[:i], '$')
	// Change one character in the middle of the hash and of the salt
	// (the middle, so that it is not a padding bit).
	for _, pos := range []int{i + 10, j + 5} {
		b := []byte(enc)
		if b[pos] == 'A' {
			b[pos] = 'B'
		} else {
			b[pos] = 'A'
		}
		ok, err := CheckPassword(string(b), "secret")
		if ok || err != nil {
			t.Errorf("tampered %s: CheckPassword = %v, %v; want false, nil", b, ok, err)
		}
	}
	// Changing a parameter changes the derived key too.
	other := strings.Replace(enc, "t=1", "t=2", 1)
	if ok, err := CheckPassword(other, "secret"); ok || err != nil {
		t.Errorf("changed t: CheckPassword = %v, %v; want false, nil", ok, err)
	}
}

func TestParsePHCMalformed(t *testing.T) {
	const salt, hash = "c29tZXNhbHQ", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, s := range []string{
		"",
		"password",
		"$2a$10$abcdefghijklmnopqrstuv", // bcrypt
		"$argon2i$v=19$m=65536,t=2,p=1$" + salt + "$" + hash,
		"$argon2id$v=16$m=65536,t=2,p=1$" + salt + "$" + hash,
		"$argon2id$m=65536,t=2,p=1$" + salt + "$" + hash, // version omitted
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt,
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash + "$",
		"$argon2id$v=19$t=2,m=65536,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=65536,t=2$" + salt + "$" + hash,
		"$argon2id$v=19$m=65536,t=2,p=1,keyid=x$" + salt + "$" + hash,
		"$argon2id$v=19$m=065536,t=2,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=+65536,t=2,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=65536,t=0,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=65536,t=2,p=0$" + salt + "$" + hash,
		"$argon2id$v=19$m=65536,t=2,p=256$" + salt + "$" + hash,
		"$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=2097152,t=2,p=1$" + salt + "$" + hash, // 2 GiB
		"$argon2id$v=19$m=65536,t=1000,p=1$" + salt + "$" + hash,
		"$argon2id$v=19$m=8,t=2,p=4$" + salt + "$" + hash, // under 8 KiB per lane
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZQ$" + hash,   // 4-byte salt
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$AAAA",
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "=$" + hash,                    // padding
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + hash[:len(hash)-1] + "d", // non-zero trailing bits
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZX-hbHQ$" + hash,                      // base64url alphabet
		"$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + strings.Repeat("A", 200),
	} {
		_, err := parsePHC(s)
		if !errors.Is(err, ErrMalformedHash) {
			t.Errorf("parsePHC(%q) error %v, want ErrMalformedHash", s, err)
		}
		if ok, err := CheckPassword(s, "password"); ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("CheckPassword(%q) = %v, %v; want ErrMalformedHash", s, ok, err)
		}
	}
}

// FuzzParsePHC checks that the parser never panics, that whatever it
// accepts is within bounds, and that it accepts each hash in one spelling
// only.
func FuzzParsePHC(f *testing.F) {
	for _, v := range referenceVectors {
		f.Add(v.encoded)
	}
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$$")
	f.Add("$argon2id$v=19$m=,t=,p=$a$b")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$c29tZXNhbHQ$c29tZXNhbHRzb21lc2FsdA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		p := h.params
		if p.Memory > maxArgon2Memory || p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Time > maxArgon2Time || p.Threads < 1 {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
		if len(h.salt) < minArgon2SaltLen || len(h.salt) > maxArgon2SaltLen || len(h.key) < minArgon2KeyLen || len(h.key) > maxArgon2KeyLen {
			t.Fatalf("accepted salt of %d bytes, hash of %d bytes", len(h.salt), len(h.key))
		}
		if got := h.String(); got != s {
			t.Fatalf("parsed %q but formats back as %q", s, got)
		}
	})
}

package jsonfield

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "email": "email", "recipients.0.email": "recipients.email", "recipients.email": "recipients.email",
		"a.12.b.3.c": "a.b.c", "CFItems.0": "CFItems", "v2.x": "v2.x",
	} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
	// What this Go release's decoder says, made the same as any other's.
	var v struct {
		Recipients []struct {
			Email string `json:"email"`
		} `json:"recipients"`
	}
	err := json.Unmarshal([]byte(`{"recipients":[{"email":"a@b.fr"},{"email":3}]}`), &v)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		t.Fatalf("%v", err)
	}
	if got := Path(te.Field); got != "recipients.email" {
		t.Errorf("decoder field %q gives %q", te.Field, got)
	}
}

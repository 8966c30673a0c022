package api_test

import (
	"testing"

	"github.com/insigne/insigne/internal/smtpsink"
)

type smtpSink = smtpsink.Sink

func newSMTPSink(t testing.TB) *smtpSink { return smtpsink.New(t) }

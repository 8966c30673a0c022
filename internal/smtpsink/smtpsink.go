// Package smtpsink is a minimal SMTP server on loopback for tests: it
// keeps every message it is given.
package smtpsink

import (
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sink is enough of RFC 5321 for net/smtp's client.
type Sink struct {
	Addr string
	mu   sync.Mutex
	msgs []Message
}

// Message is one message the sink was given.
type Message struct {
	From string
	To   []string
	Data string
}

// New starts a sink on a loopback port, closed when the test ends.
func New(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 sink ESMTP")
	var m Message
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			tp.PrintfLine("250 sink")
		case "MAIL":
			m = Message{From: strings.TrimSuffix(strings.TrimPrefix(line[len("MAIL FROM:"):], "<"), ">")}
			tp.PrintfLine("250 OK")
		case "RCPT":
			m.To = append(m.To, strings.TrimSuffix(strings.TrimPrefix(line[len("RCPT TO:"):], "<"), ">"))
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 go on")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.Data = string(b)
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			tp.PrintfLine("250 kept")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not here")
		}
	}
}

// To returns the messages sent to addr.
func (s *Sink) To(addr string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		for _, to := range m.To {
			if to == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

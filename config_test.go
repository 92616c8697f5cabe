package session_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed58a3dad2/session"
)

func TestNewRejectsBadConfig(t *testing.T) {
	mem := newEnv(t, session.Config{}).mem
	for _, tt := range []struct {
		name string
		cfg  session.Config
		want string
	}{
		{"no store", session.Config{Keys: []session.Key{testKey}}, "Config.Store"},
		{"no keys", session.Config{Store: mem}, "Config.Keys"},
		{"a short key", session.Config{Store: mem, Keys: []session.Key{{Hash: []byte("short")}}}, "at least 32"},
		{"a bad AES key", session.Config{Store: mem, Keys: []session.Key{{Hash: testKey.Hash, Block: []byte("x")}}}, "AES"},
		{"a touch interval as long as the timeout", session.Config{Store: mem, Keys: []session.Key{testKey}, IdleTimeout: time.Minute, TouchInterval: time.Minute}, "TouchInterval"},
		{"a __Host- cookie with a domain", session.Config{Store: mem, Keys: []session.Key{testKey}, Cookie: session.CookieConfig{HostPrefix: true, Domain: "example.com"}}, "__Host-"},
	} {
		t.Run("New refuses "+tt.name, func(t *testing.T) {
			if _, err := session.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewRefusesAMaxTokenLengthShorterThanAToken(t *testing.T) {
	_, err := session.New(session.Config{Store: failingStore{}, Keys: []session.Key{testKey}, MaxTokenLength: 60})
	if err == nil || !strings.Contains(err.Error(), "MaxTokenLength") {
		t.Fatalf("got %v", err)
	}
}

func TestNewRefusesInvalidCookieSettings(t *testing.T) {
	for _, cc := range []session.CookieConfig{{Prefix: "bad prefix "}, {Path: "/a;b"}, {Name: "a=b"}} {
		if _, err := session.New(session.Config{Store: failingStore{errDown}, Keys: []session.Key{testKey}, Cookie: cc}); err == nil {
			t.Errorf("New accepted %+v", cc)
		}
	}
}

func TestNewRefusesSameSiteNoneWithoutSecure(t *testing.T) {
	newManager := func(cfg session.Config) error {
		cfg.Store, cfg.Keys = failingStore{errDown}, []session.Key{testKey}
		_, err := session.New(cfg)
		return err
	}
	none := session.CookieConfig{SameSite: http.SameSiteNoneMode}
	if err := newManager(session.Config{Cookie: none}); err == nil || !strings.Contains(err.Error(), "Secure") {
		t.Errorf("SameSite None without Secure: got error %v, want one that says to set Secure", err)
	}
	for name, cfg := range map[string]session.Config{
		"with Secure":            {Cookie: session.CookieConfig{SameSite: http.SameSiteNoneMode, Secure: true}},
		"with a __Host- prefix":  {Cookie: session.CookieConfig{SameSite: http.SameSiteNoneMode, HostPrefix: true}},
		"when no cookie is sent": {Cookie: none, Transport: session.TransportHeader},
	} {
		if err := newManager(cfg); err != nil {
			t.Errorf("SameSite None %s: got error %v, want nil", name, err)
		}
	}
}

func TestNewRefusesPartitionedWithoutSecure(t *testing.T) {
	newManager := func(cc session.CookieConfig) error {
		_, err := session.New(session.Config{Store: failingStore{errDown}, Keys: []session.Key{testKey}, Cookie: cc})
		return err
	}
	if err := newManager(session.CookieConfig{Partitioned: true}); err == nil || !strings.Contains(err.Error(), "Secure") {
		t.Errorf("Partitioned without Secure: got error %v, want one that says to set Secure", err)
	}
	if err := newManager(session.CookieConfig{Partitioned: true, Secure: true, SameSite: http.SameSiteNoneMode}); err != nil {
		t.Errorf("Partitioned with Secure: got error %v, want nil", err)
	}
}

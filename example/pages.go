package main

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/seed58a3dad2/session"
)

// indexHTML is the page at /: two panels, each a SessionClient with its own
// cookie prefix.
//
//go:embed index.html
var indexHTML []byte

func indexPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(indexHTML)
}

// formPage is the same counter for browsers without JavaScript: a plain form
// whose session lives in the server's HttpOnly cookie alone.
var formPage = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>session example: no JavaScript</title>
<style>body { font: 16px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; padding: 0 1rem; }</style>
<h1>A form on the cookie alone</h1>
<p>This page runs no script. The browser keeps the session in the server's
HttpOnly cookie, which expires when the session does.</p>
{{if .Flash}}<p id="flash" role="status">{{.Flash}}</p>{{end}}
<p>counter: <output id="n">{{.N}}</output></p>
<p>session expires: {{if .Expires}}<time id="expires" datetime="{{.Expires}}">{{.Expires}}</time>{{else}}<span id="expires">no session</span>{{end}}</p>
<form method="post" action="/form">
  <button name="do" value="count" id="count">Count</button>
  <button name="do" value="logout" id="logout">Log out</button>
</form>
<p><a href="/">The JavaScript client</a></p>
`))

func showForm(w http.ResponseWriter, r *http.Request) {
	s := session.FromContext(r.Context())
	n, _, err := session.Get[int64](s, "n")
	if err != nil {
		return // the middleware answers: 503 if the store failed, 500 if the value is unreadable
	}
	// The notice the post left: shown once, even with the page open in
	// two tabs (Session.Take).
	flash, _, err := session.Take[string](s, "flash")
	if err != nil {
		return
	}
	view := struct {
		N       int64
		Flash   string
		Expires string
	}{N: n, Flash: flash}
	if exp := s.ExpiresAt(); !exp.IsZero() {
		view.Expires = exp.UTC().Format(expiresLayout)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_ = formPage.Execute(w, view)
}

// postForm counts or logs out, then sends the browser back to the form
// (POST, redirect, GET), so a reload does not post again.
func postForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	s := session.FromContext(r.Context())
	switch r.PostFormValue("do") {
	case "count":
		n, err := s.Add("n", 1)
		if errors.Is(err, session.ErrStore) {
			return // the middleware answers 503
		}
		if err == nil {
			err = s.Set("flash", fmt.Sprintf("Counted: %d.", n))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	case "logout":
		s.Destroy()
	default:
		http.Error(w, `send do=count or do=logout`, http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/form", http.StatusSeeOther)
}

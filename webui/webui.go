// Package webui is the supervisors' web page of blacklist-agi, the
// "Blacklist de campanhas" screen: lists and their entries, checks of a
// number, imports and exports, and the monitoring of blocked calls, in
// Portuguese (pt-BR) and English.
//
// The page is static: an HTML file, a script, a style sheet and two
// dictionaries, embedded in the binary (no CDN, no build step). It holds no
// data and needs no token to be fetched; every figure it shows comes from
// the admin JSON API of package adminapi, called from the browser with the
// supervisor's token. Handler serves it under /ui/ on the admin listener.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Paths of the page.
const (
	// Root is the page's address: GET / redirects to it.
	Root = "/ui/"
	// AssetsPrefix is the address of the embedded files.
	AssetsPrefix = Root + "assets/"
)

// ContentSecurityPolicy is sent with every answer: the page loads scripts,
// styles, images and data from its own origin only, runs no inline script
// and cannot be framed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentTypes are the types of the embedded files, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	hash        string // hex SHA-256 prefix: the ETag and the ?v= of versioned links
}

// site is the set of files Handler serves.
type site struct {
	index *file
	files map[string]*file // by name under assets/
}

// Handler returns the handler of the page: GET (and HEAD) / redirects to
// /ui/, /ui/ is the page, /ui/assets/<file> its files. Every answer carries
// the Content-Security-Policy above, X-Content-Type-Options: nosniff and an
// ETag; a file requested with ?v=<its hash> (as the page links them) is
// cached for a year, anything else is revalidated on each use.
func Handler() http.Handler {
	s, err := load(assets)
	if err != nil {
		panic("webui: embedded assets: " + err.Error()) // the build embedded them: cannot happen
	}
	return s
}

// load reads the embedded files, and links index.html to the script and
// style sheet by their hash, so that a new binary's files are fetched anew.
func load(fsys fs.FS) (*site, error) {
	s := &site{files: map[string]*file{}}
	err := fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		s.files[strings.TrimPrefix(p, "assets/")] = newFile(b, ct)
		return nil
	})
	if err != nil {
		return nil, err
	}
	index, ok := s.files["index.html"]
	if !ok {
		return nil, fs.ErrNotExist
	}
	body := index.body
	for _, name := range []string{"app.js", "style.css"} {
		if f, ok := s.files[name]; ok {
			body = bytes.ReplaceAll(body, []byte(`"assets/`+name+`"`), []byte(`"assets/`+name+`?v=`+f.hash+`"`))
		}
	}
	s.index = newFile(body, index.contentType)
	return s, nil
}

func newFile(b []byte, contentType string) *file {
	sum := sha256.Sum256(b)
	return &file{body: b, contentType: contentType, hash: hex.EncodeToString(sum[:8])}
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" is not allowed on "+r.URL.Path+" (allowed: GET, HEAD)", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/ui":
		http.Redirect(w, r, Root, http.StatusFound)
	case p == Root || p == Root+"index.html":
		s.serve(w, r, s.index)
	case strings.HasPrefix(p, AssetsPrefix):
		if f, ok := s.files[strings.TrimPrefix(p, AssetsPrefix)]; ok {
			s.serve(w, r, f)
			return
		}
		fallthrough
	default:
		http.Error(w, "no page "+p+": the page is at "+Root, http.StatusNotFound)
	}
}

// serve answers f, or 304 when the client holds it already.
func (s *site) serve(w http.ResponseWriter, r *http.Request, f *file) {
	h := w.Header()
	etag := `"` + f.hash + `"`
	h.Set("ETag", etag)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Content-Type", f.contentType)
	// ServeContent answers HEAD, ranges and If-None-Match (304) by the ETag.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

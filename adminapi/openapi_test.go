package adminapi

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/blacklist-agi/blacklist-agi/webui"
)

// openAPI is the part of docs/openapi.yaml the test reads.
type openAPI struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components map[string]map[string]yaml.Node `yaml:"components"`
}

type operation struct {
	Security   *[]map[string][]string `yaml:"security"`
	Parameters []parameter            `yaml:"parameters"`
	Responses  map[string]yaml.Node   `yaml:"responses"`
}

type parameter struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

func readOpenAPI(t *testing.T) (openAPI, []byte) {
	t.Helper()
	b, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	return doc, b
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// uiRoutes serve the web page's static files (Options.UI): they are not
// part of the JSON API, and docs/openapi.yaml leaves them out.
var uiRoutes = []string{"GET /{$}", "GET /ui/"}

// TestOpenAPIDescribesEveryRoute checks docs/openapi.yaml against the
// routes of the mux: each route but the web page's is documented with its
// path parameters and the 401 of a route behind a token, and each
// documented operation is a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, _ := readOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
	}
	a := newAPI(Options{UI: webui.Handler()})
	for _, p := range uiRoutes {
		if !slices.Contains(a.routes, p) {
			t.Errorf("web page route %s is not registered", p)
		}
	}
	routes := map[string]bool{}
	for _, pattern := range a.routes {
		routes[pattern] = true
		if slices.Contains(uiRoutes, pattern) {
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		t.Run(pattern, func(t *testing.T) {
			item, ok := doc.Paths[path]
			if !ok {
				t.Fatalf("path %s is not in docs/openapi.yaml", path)
			}
			node, ok := item[strings.ToLower(method)]
			if !ok {
				t.Fatalf("%s %s is not in docs/openapi.yaml", method, path)
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				t.Fatal(err)
			}
			var shared []parameter
			if n, ok := item["parameters"]; ok {
				if err := n.Decode(&shared); err != nil {
					t.Fatal(err)
				}
			}
			declared := map[string]bool{}
			for _, p := range append(shared, op.Parameters...) {
				if p.Ref != "" {
					name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
					var rp parameter
					n := doc.Components["parameters"][name]
					if err := n.Decode(&rp); err != nil || rp.Name == "" {
						t.Fatalf("parameter %s does not resolve", p.Ref)
					}
					p = rp
				}
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, m := range regexp.MustCompile(`\{([a-z]+)\}`).FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("path parameter {%s} is not declared", m[1])
				}
			}
			if len(op.Responses) == 0 {
				t.Errorf("no responses")
			}
			open := op.Security != nil && len(*op.Security) == 0
			if _, ok := op.Responses["401"]; !open && !ok {
				t.Errorf("a route behind a token does not document 401")
			}
			if open && path != "/healthz" && path != "/readyz" {
				t.Errorf("documented without a token, but only the probes are")
			}
		})
	}
	for path, item := range doc.Paths {
		for _, m := range methods {
			if _, ok := item[m]; ok && !routes[strings.ToUpper(m)+" "+path] {
				t.Errorf("docs/openapi.yaml documents %s %s, which is not a route", strings.ToUpper(m), path)
			}
		}
	}
}

// TestOpenAPIReferencesResolve checks that every $ref of the document names
// a component it defines, and that no key was left without a value (a
// comma in an unquoted flow scalar splits it into a key of its own).
func TestOpenAPIReferencesResolve(t *testing.T) {
	doc, b := readOpenAPI(t)
	var tree any
	if err := yaml.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			t.Errorf("%s: no value", path)
		case map[string]any:
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s/%d", path, i), e)
			}
		}
	}
	walk("", tree)
	refs := regexp.MustCompile(`\$ref: "?#/components/([a-zA-Z]+)/([A-Za-z]+)"?`).FindAllStringSubmatch(string(b), -1)
	if len(refs) == 0 {
		t.Fatal("no $ref found: the pattern is wrong")
	}
	for _, r := range refs {
		if _, ok := doc.Components[r[1]][r[2]]; !ok {
			t.Errorf("%s does not resolve", r[0])
		}
	}
	if n := strings.Count(string(b), "$ref"); n != len(refs) {
		t.Errorf("%d $ref, %d of them read: a $ref of another form", n, len(refs))
	}
	// Every error answer documents the error body.
	var errs []string
	for name, n := range doc.Components["responses"] {
		var resp struct {
			Content map[string]struct {
				Schema struct {
					Ref string `yaml:"$ref"`
				} `yaml:"schema"`
			} `yaml:"content"`
		}
		if err := n.Decode(&resp); err != nil {
			t.Fatal(err)
		}
		if resp.Content["application/json"].Schema.Ref != "#/components/schemas/Error" {
			errs = append(errs, name)
		}
	}
	slices.Sort(errs)
	if len(errs) > 0 {
		t.Errorf("error responses without the Error schema: %v", errs)
	}
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"go.yaml.in/yaml/v3"
)

// Limits on what a configuration file may be, so that a wrong path or a
// hostile file cannot exhaust memory.
const (
	maxFileBytes = 1 << 20 // bytes in one file
	maxNodes     = 100_000 // YAML nodes after expanding aliases
	maxDepth     = 64      // nesting of mappings and sequences
)

// document is one YAML file being decoded: its name, where each key is
// written and the problems found so far.
type document struct {
	file  string
	lines map[string]int // key in mapstructure notation -> line
	nodes int
	problems
}

func newDocument(file string) *document {
	return &document{file: file, lines: make(map[string]int), problems: problems{file: file}}
}

// readFile reads a configuration file of at most maxFileBytes. It refuses
// anything but a regular file, so that a FIFO or device cannot block or
// flood the reader.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: "not a regular file", Err: ErrSyntax}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", maxFileBytes), Err: ErrSyntax}
	}
	return data, nil
}

// parse decodes data, a single YAML document whose top level is a mapping,
// into a tree of map[string]any, []any, string and nil, checking it against
// schema (the Go struct it will be decoded into): unknown keys, and
// mappings, lists and single values where the schema wants another shape,
// are reported. Every scalar is kept as the text that was written, so that
// "0055" stays "0055"; decodeHook converts text to numbers, durations and
// booleans exactly as it does for environment variables.
func (d *document) parse(data []byte, schema reflect.Type) map[string]any {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]any{}
		}
		d.add("", "", err.Error(), ErrSyntax)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		d.add("", "", "more than one YAML document (---); a configuration file holds one", ErrSyntax)
		return nil
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch {
	case n.Kind == yaml.MappingNode:
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null", n.Kind == yaml.DocumentNode:
		return map[string]any{}
	default:
		d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Msg: "the file must be a mapping of key: value", Err: ErrSyntax})
		return nil
	}
	tree, _ := d.convert(n, schema, "", 0).(map[string]any)
	if len(d.errs) > 0 {
		return nil
	}
	return tree
}

// convert turns node n, found at key name, into a plain value, checking it
// against t (nil when not known).
func (d *document) convert(n *yaml.Node, t reflect.Type, name string, depth int) any {
	d.nodes++
	if d.nodes > maxNodes || depth > maxDepth {
		if d.nodes == maxNodes+1 || depth == maxDepth+1 {
			d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Msg: "too deeply nested or too many aliases", Err: ErrSyntax})
		}
		d.nodes = maxNodes + 2 // report once
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil
		}
		return d.convert(n.Alias, t, name, depth+1)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if want := shapeOf(t); want != "" && want != shapeOfNode(n) && (want != "list" || n.Kind != yaml.ScalarNode) {
		d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Key: name, Msg: fmt.Sprintf("must be %s, not %s", shapeNames[want], shapeNames[shapeOfNode(n)]), Err: ErrInvalidValue})
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		var elem reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			key := name + "[" + strconv.Itoa(i) + "]"
			d.lines[key] = c.Line
			out[i] = d.convert(c, elem, key, depth+1)
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.errs = append(d.errs, &Error{File: d.file, Line: k.Line, Key: name, Msg: "keys must be plain text", Err: ErrSyntax})
				continue
			}
			if k.ShortTag() == "!!merge" {
				d.errs = append(d.errs, &Error{File: d.file, Line: k.Line, Key: name, Msg: "YAML merge keys (<<) are not supported", Err: ErrSyntax})
				continue
			}
			key := k.Value
			var childType reflect.Type
			childName := joinKey(name, key)
			switch {
			case t != nil && t.Kind() == reflect.Struct:
				f, ok := structFields(t)[key]
				if !ok {
					d.errs = append(d.errs, &Error{File: d.file, Line: k.Line, Key: childName, Msg: unknownKeyMsg(t), Err: ErrUnknownKey})
					continue
				}
				childType = f.Type
			case t != nil && t.Kind() == reflect.Map:
				childType = t.Elem()
				childName = name + "[" + key + "]"
			}
			if _, dup := out[key]; dup {
				d.errs = append(d.errs, &Error{File: d.file, Line: k.Line, Key: childName, Msg: fmt.Sprintf("duplicate key (first at line %d)", d.lines[childName]), Err: ErrSyntax})
				continue
			}
			d.lines[childName] = k.Line
			out[key] = d.convert(v, childType, childName, depth+1)
		}
		return out
	}
	return nil
}

func joinKey(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Shapes of YAML values, to report a mapping where a list was expected.
var shapeNames = map[string]string{
	"mapping": "a mapping (key: value)",
	"list":    "a list",
	"value":   "a single value",
	"":        "this",
}

// shapeOf is the YAML shape a Go type needs, "" when unknown.
func shapeOf(t reflect.Type) string {
	if t == nil {
		return ""
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "mapping"
	case reflect.Slice:
		return "list"
	}
	return "value"
}

func shapeOfNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "value"
	}
	return ""
}

// unknownKeyMsg lists the keys struct type t accepts.
func unknownKeyMsg(t reflect.Type) string {
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if name := tagName(f); name != "" {
			names = append(names, name)
		}
	}
	return "unknown key (known here: " + strings.Join(names, ", ") + ")"
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.StructField

// structFields maps the mapstructure key of each field of struct type t to
// the field.
func structFields(t reflect.Type) map[string]reflect.StructField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.StructField)
	}
	m := make(map[string]reflect.StructField)
	for _, f := range reflect.VisibleFields(t) {
		if name := tagName(f); name != "" {
			m[name] = f
		}
	}
	fieldCache.Store(t, m)
	return m
}

// tagName is the configuration key of field f, "" if it has none.
func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

var durationType = reflect.TypeFor[time.Duration]()

// valueError is a value that cannot be converted to its setting's type.
type valueError struct {
	value    string
	hasValue bool
	msg      string
}

func (e *valueError) Error() string { return e.msg }

// decodeHook converts the text read from a file or an environment variable
// to the type of the setting: a duration needs a unit ("300ms", "5s", "7d"), a
// number is decimal, a list may be written as comma-separated text (for
// environment variables). Values that already have the right type (the
// built-in defaults) pass through.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() == reflect.Pointer || to.Kind() == reflect.Interface || from == to {
		return data, nil
	}
	s, isText := data.(string)
	switch {
	case to == durationType:
		if !isText {
			return nil, mismatch(from, "a duration such as 300ms, 5s or 7d")
		}
		d, ok := parseDuration(s)
		if !ok {
			return nil, &valueError{value: s, hasValue: true, msg: durationSyntax}
		}
		return d, nil
	case to.Kind() == reflect.Int || to.Kind() == reflect.Int64:
		if !isText {
			return nil, mismatch(from, "a whole number")
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, to.Bits())
		if err != nil {
			return nil, &valueError{value: s, hasValue: true, msg: "must be a whole number"}
		}
		return reflect.ValueOf(n).Convert(to).Interface(), nil
	case to.Kind() == reflect.Bool:
		if !isText {
			return nil, mismatch(from, "true or false")
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, &valueError{value: s, hasValue: true, msg: "must be true or false"}
	case to.Kind() == reflect.String:
		if !isText {
			return nil, mismatch(from, "a single value")
		}
	case to.Kind() == reflect.Slice:
		if isText {
			var items []string
			for item := range strings.SplitSeq(s, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
			if items == nil {
				items = []string{}
			}
			return items, nil
		}
		if from.Kind() != reflect.Slice {
			return nil, mismatch(from, "a list")
		}
	case to.Kind() == reflect.Struct || to.Kind() == reflect.Map:
		if from.Kind() != reflect.Map {
			return nil, mismatch(from, "a mapping (key: value)")
		}
	}
	return data, nil
}

func mismatch(from reflect.Type, want string) error {
	got := "a single value"
	switch from.Kind() {
	case reflect.Map:
		got = "a mapping"
	case reflect.Slice:
		got = "a list"
	}
	return &valueError{msg: "must be " + want + ", not " + got}
}

// decoderConfig is the mapstructure configuration for every decode in this
// package: strict (unknown keys are errors, no weak conversions), with
// decodeHook doing the conversions from text.
func decoderConfig(c *mapstructure.DecoderConfig) {
	c.DecodeHook = decodeHook
	c.ErrorUnused = true
	c.WeaklyTypedInput = false
	c.TagName = "mapstructure"
}

// decode decodes tree into result with decoderConfig.
func decode(tree any, result any) error {
	c := &mapstructure.DecoderConfig{Result: result}
	decoderConfig(c)
	dec, err := mapstructure.NewDecoder(c)
	if err != nil {
		return err
	}
	return dec.Decode(tree)
}

// decodeErrors turns what mapstructure returns into *Error values for file.
func (d *document) decodeErrors(err error) error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		de, ok := err.(*mapstructure.DecodeError)
		if !ok {
			switch w := err.(type) {
			case interface{ Unwrap() []error }:
				for _, e := range w.Unwrap() {
					walk(e)
				}
			case interface{ Unwrap() error }:
				walk(w.Unwrap())
			default:
				out = append(out, &Error{File: d.file, Msg: err.Error(), Err: ErrInvalidValue})
			}
			return
		}
		e := &Error{File: d.file, Line: d.lines[de.Name()], Key: de.Name(), Err: ErrInvalidValue}
		var ve *valueError
		var pe *mapstructure.ParseError
		var ue *mapstructure.UnconvertibleTypeError
		switch inner := de.Unwrap(); {
		case errors.As(inner, &ve):
			e.Msg, e.Value, e.hasValue = ve.msg, ve.value, ve.hasValue
		case errors.As(inner, &pe):
			e.Msg, e.Value, e.hasValue = "must be "+pe.Expected.Type().String(), fmt.Sprint(pe.Value), true
		case errors.As(inner, &ue):
			e.Msg, e.Value, e.hasValue = "must be "+ue.Expected.Type().String(), fmt.Sprint(ue.Value), true
		case inner != nil && strings.HasPrefix(inner.Error(), "has invalid keys"):
			e.Msg, e.Err = inner.Error(), ErrUnknownKey
		default:
			e.Msg = fmt.Sprint(inner)
		}
		if secretKey(e.Key) {
			e.Value = redacted
		}
		out = append(out, e)
	}
	walk(err)
	return errors.Join(out...)
}

package core

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestConfigFieldDocsAgreeWithTheOptionTable checks that every Config
// field's doc comment names its option and states the default and range
// options.json gives it, so that the Go docs cannot drift from the table.
func TestConfigFieldDocsAgreeWithTheOptionTable(t *testing.T) {
	docs := configFieldDocs(t)
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		opt := options[field.Tag.Get("opt")]
		if opt == nil {
			t.Errorf("%s: no option %q in the table", field.Name, field.Tag.Get("opt"))
			continue
		}
		doc := docs[field.Name]
		for _, want := range append([]string{fmt.Sprintf("%s (%s): %s", field.Name, opt.Name, opt.Doc)}, optionFacts(opt)...) {
			if !strings.Contains(doc, want) {
				t.Errorf("%s's doc comment does not say %q; it reads %q", field.Name, want, doc)
			}
		}
	}
}

// configFieldDocs reads config.go's Config fields' doc comments, each
// joined into one line.
func configFieldDocs(t *testing.T) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok || spec.Name.Name != "Config" {
			return true
		}
		for _, field := range spec.Type.(*ast.StructType).Fields.List {
			for _, name := range field.Names {
				docs[name.Name] = strings.Join(strings.Fields(field.Doc.Text()), " ")
			}
		}
		return false
	})
	return docs
}

// optionFacts are the sentences a field's doc comment gives of its
// option's choices, default and range.
func optionFacts(opt *OptionSpec) []string {
	unit := ""
	if opt.Unit != "" {
		unit = " " + opt.Unit
	}
	var facts []string
	if len(opt.Choices) > 0 {
		quoted := make([]string, len(opt.Choices))
		for i, c := range opt.Choices {
			quoted[i] = strconv.Quote(c)
		}
		facts = append(facts, "One of "+strings.Join(quoted, ", ")+".")
	}
	switch d := opt.Default.(type) {
	case nil:
		facts = append(facts, "Unset by default.")
	case bool:
		facts = append(facts, fmt.Sprintf("Default: %t.", d))
	case string:
		facts = append(facts, fmt.Sprintf("Default: %q.", d))
	case float64:
		facts = append(facts, "Default: "+strconv.FormatFloat(d, 'f', -1, 64)+unit+".")
	}
	if opt.Min != nil && opt.Max != nil {
		low := strconv.FormatFloat(*opt.Min, 'f', -1, 64)
		if *opt.Max >= math.MaxInt64 {
			facts = append(facts, "Range: at least "+low+unit+".")
		} else {
			facts = append(facts, "Range: "+low+" to "+strconv.FormatFloat(*opt.Max, 'f', -1, 64)+unit+".")
		}
	}
	return facts
}

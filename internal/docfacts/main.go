// Command docfacts prints, as JSON, the facts of package core that the
// documentation generator (docs/gen_docs.py) puts in docs/operations.md:
// the metrics with their units and levels, the retrier's backoffs, the
// classification of error codes with the comments that explain it, and
// gokpl's own error codes. It reads core's source with go/parser and
// evaluates its constants with go/types, so values are the compiler's, not
// a pattern's guess. Run from the repository root: go run ./internal/docfacts.
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// facts is what docfacts prints.
type facts struct {
	Metrics        []metric           `json:"metrics"`
	Backoffs       map[string]backoff `json:"backoffs"`
	Classification []classified       `json:"classification"`
	OwnCodes       []string           `json:"own_codes"`
}

type metric struct {
	Name  string `json:"name"`
	Unit  string `json:"unit"`
	Level string `json:"level"` // "summary" or "detailed"
}

type backoff struct {
	BaseMillis int64 `json:"base_ms"`
	CapMillis  int64 `json:"cap_ms"`
}

// classified is one entry of core's classification table, in source order.
type classified struct {
	Code   string `json:"code"`
	Action string `json:"action"` // the action constant's name without "action"
	Group  string `json:"group"`  // the comment heading the entry's group
	Note   string `json:"note"`   // the entry's own comment, if any
	Own    bool   `json:"own"`    // the code is one of gokpl's Code constants
}

func main() {
	dir := "core"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	p, err := load(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "docfacts:", err)
		os.Exit(1)
	}
	f, err := p.facts()
	if err != nil {
		fmt.Fprintln(os.Stderr, "docfacts:", err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(f); err != nil {
		fmt.Fprintln(os.Stderr, "docfacts:", err)
		os.Exit(1)
	}
}

// pkg is core's parsed and type-checked source.
type pkg struct {
	fset  *token.FileSet
	files map[string]*ast.File // by base name
	types *types.Package
	info  *types.Info
}

// load parses the package's non-test files and type-checks them. Imports
// outside the standard library are left empty: the constants documented
// depend on none of them, and the type errors that leaves are ignored.
func load(dir string) (*pkg, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	p := &pkg{fset: token.NewFileSet(), files: map[string]*ast.File{}}
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		p.files[filepath.Base(path)] = f
		files = append(files, f)
	}
	std := importer.Default()
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if !strings.Contains(strings.Split(path, "/")[0], ".") {
				return std.Import(path)
			}
			empty := types.NewPackage(path, filepath.Base(path))
			empty.MarkComplete()
			return empty, nil
		}),
		Error: func(error) {},
	}
	p.info = &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	p.types, _ = conf.Check("github.com/gokpl/gokpl/core", p.fset, files, p.info)
	return p, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

func (p *pkg) facts() (*facts, error) {
	metrics, err := p.metrics()
	if err != nil {
		return nil, err
	}
	backoffs := map[string]backoff{}
	for _, kind := range []string{"throttle", "transient"} {
		base, err := p.durationConst(kind + "BackoffBase")
		if err != nil {
			return nil, err
		}
		ceiling, err := p.durationConst(kind + "BackoffCap")
		if err != nil {
			return nil, err
		}
		backoffs[kind] = backoff{BaseMillis: base.Milliseconds(), CapMillis: ceiling.Milliseconds()}
	}
	classification, err := p.classification()
	if err != nil {
		return nil, err
	}
	own, err := p.stringConsts("errors.go", "Code")
	if err != nil {
		return nil, err
	}
	f := &facts{Metrics: metrics, Backoffs: backoffs, Classification: classification}
	for _, c := range own {
		f.OwnCodes = append(f.OwnCodes, c.value)
	}
	return f, nil
}

type namedString struct{ name, value string }

// stringConsts returns file's string constants whose names start with
// prefix, in source order.
func (p *pkg) stringConsts(file, prefix string) ([]namedString, error) {
	f := p.files[file]
	if f == nil {
		return nil, fmt.Errorf("no %s in the package", file)
	}
	var consts []namedString
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			for _, name := range spec.(*ast.ValueSpec).Names {
				if !strings.HasPrefix(name.Name, prefix) {
					continue
				}
				value, err := p.stringConst(name.Name)
				if err != nil {
					return nil, err
				}
				consts = append(consts, namedString{name.Name, value})
			}
		}
	}
	return consts, nil
}

func (p *pkg) constValue(name string) (constant.Value, error) {
	c, ok := p.types.Scope().Lookup(name).(*types.Const)
	if !ok || c.Val().Kind() == constant.Unknown {
		return nil, fmt.Errorf("core has no constant %s with a known value", name)
	}
	return c.Val(), nil
}

func (p *pkg) stringConst(name string) (string, error) {
	v, err := p.constValue(name)
	if err != nil {
		return "", err
	}
	if v.Kind() != constant.String {
		return "", fmt.Errorf("%s is not a string constant", name)
	}
	return constant.StringVal(v), nil
}

func (p *pkg) durationConst(name string) (time.Duration, error) {
	v, err := p.constValue(name)
	if err != nil {
		return 0, err
	}
	n, exact := constant.Int64Val(v)
	if !exact {
		return 0, fmt.Errorf("%s is not an integer constant", name)
	}
	return time.Duration(n), nil
}

// metrics returns the Metric constants of metrics.go, in source order, with
// the unit and level metricSpecs gives each.
func (p *pkg) metrics() ([]metric, error) {
	names, err := p.stringConsts("metrics.go", "Metric")
	if err != nil {
		return nil, err
	}
	specs, err := p.mapLiteral("metrics.go", "metricSpecs")
	if err != nil {
		return nil, err
	}
	byConst := map[string]*ast.CompositeLit{}
	for _, kv := range specs.Elts {
		kv := kv.(*ast.KeyValueExpr)
		value, ok := kv.Value.(*ast.CompositeLit)
		key, isIdent := kv.Key.(*ast.Ident)
		if !ok || !isIdent || len(value.Elts) != 2 {
			return nil, fmt.Errorf("metricSpecs: the entry at %s is not a Metric constant with {a Unit constant, a level constant}", p.fset.Position(kv.Pos()))
		}
		byConst[key.Name] = value
	}
	if len(byConst) != len(names) {
		return nil, fmt.Errorf("%d Metric constants but %d metricSpecs entries", len(names), len(byConst))
	}
	var metrics []metric
	for _, name := range names {
		spec := byConst[name.name]
		if spec == nil {
			return nil, fmt.Errorf("metricSpecs has no entry for %s", name.name)
		}
		unit := p.info.Types[spec.Elts[0]].Value
		level, ok := p.constName(spec.Elts[1], "level")
		if unit == nil || unit.Kind() != constant.String || !ok {
			return nil, fmt.Errorf("metricSpecs[%s] is not {a Unit constant, a level constant}", name.name)
		}
		metrics = append(metrics, metric{Name: name.value, Unit: constant.StringVal(unit), Level: strings.ToLower(level)})
	}
	return metrics, nil
}

// constName returns the name, less prefix, of the package constant expr
// refers to.
func (p *pkg) constName(expr ast.Expr, prefix string) (string, bool) {
	id, ok := expr.(*ast.Ident)
	if !ok {
		return "", false
	}
	c, ok := p.info.Uses[id].(*types.Const)
	if !ok || !strings.HasPrefix(c.Name(), prefix) {
		return "", false
	}
	return strings.TrimPrefix(c.Name(), prefix), true
}

// mapLiteral returns the composite literal that the package-level var name
// of file is initialised with.
func (p *pkg) mapLiteral(file, name string) (*ast.CompositeLit, error) {
	for _, decl := range p.files[file].Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.CompositeLit); ok {
					return lit, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%s has no var %s = {...}", file, name)
}

// classification returns errors.go's classification table in source order:
// each code with its action, the comment heading its group (a comment on
// lines of its own starts a group) and its own comment on its line.
func (p *pkg) classification() ([]classified, error) {
	lit, err := p.mapLiteral("errors.go", "classification")
	if err != nil {
		return nil, err
	}
	file := p.files["errors.go"]
	var comments []*ast.CommentGroup
	for _, c := range file.Comments {
		if c.Pos() > lit.Lbrace && c.End() < lit.Rbrace {
			comments = append(comments, c)
		}
	}
	line := func(pos token.Pos) int { return p.fset.Position(pos).Line }
	var table []classified
	group := ""
	for _, elt := range lit.Elts {
		kv := elt.(*ast.KeyValueExpr)
		note := ""
		for len(comments) > 0 && comments[0].Pos() < kv.End() {
			group = commentText(comments[0])
			comments = comments[1:]
		}
		if len(comments) > 0 && line(comments[0].Pos()) == line(kv.End()) {
			note = commentText(comments[0])
			comments = comments[1:]
		}
		code := p.info.Types[kv.Key].Value
		action, ok := p.constName(kv.Value, "action")
		if code == nil || code.Kind() != constant.String || !ok {
			return nil, fmt.Errorf("classification: the entry at %s is not a code string and an action constant", p.fset.Position(kv.Pos()))
		}
		_, literal := kv.Key.(*ast.BasicLit)
		table = append(table, classified{Code: constant.StringVal(code), Action: action, Group: group, Note: note, Own: !literal})
	}
	return table, nil
}

func commentText(c *ast.CommentGroup) string {
	return strings.Join(strings.Fields(c.Text()), " ")
}

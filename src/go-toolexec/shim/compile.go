package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// compile rewrites the arguments of a compile of a main-module package: its .go files are
// replaced by instrumented copies under $WORK/bNNN/cti/ and its importcfg gains the runtime.
func compile(tool string, args []string) ([]string, error) {
	if os.Getenv("CTI_GO_NESTED") != "" { // the runtime's own build (runtime.go)
		return args, nil
	}
	for _, a := range args {
		if a == "-std" {
			return args, nil
		}
	}
	importcfg, cfgIndex := flagValue(args, "-importcfg")
	out, _ := flagValue(args, "-o")
	pkg, _ := flagValue(args, "-p")
	// The package's Go version: the instrumenter's output uses generics only from go1.18 on.
	lang, _ := flagValue(args, "-lang")
	if importcfg == "" || out == "" || pkg == "" || cfgIndex < 0 {
		return args, nil
	}
	work := filepath.Dir(filepath.Dir(importcfg))
	cwd, _ := os.Getwd()
	var files []int // indexes of the .go arguments
	pkgDir := ""
	for i, a := range args {
		if !strings.HasSuffix(a, ".go") || strings.HasPrefix(a, "-") {
			continue
		}
		abs := a
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(cwd, a)
		}
		args[i] = abs
		files = append(files, i)
		if pkgDir == "" && !strings.HasPrefix(abs, work+string(filepath.Separator)) {
			pkgDir = filepath.Dir(abs)
		}
	}
	if pkgDir == "" {
		// Only inputs under $WORK: cgo's outputs name their source in a first-line //line
		// directive; the test main has none (and is not rewritten).
		for _, i := range files {
			if src := lineDirectiveFile(args[i]); src != "" {
				pkgDir = filepath.Dir(src)
				break
			}
		}
		if pkgDir == "" {
			return args, nil
		}
	}
	root := mainModuleOf(pkgDir)
	if root == "" {
		return args, nil
	}
	outDir := filepath.Join(filepath.Dir(out), "cti")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	type file struct {
		Path    string `json:"path"`
		Out     string `json:"out,omitempty"`
		Skipped string `json:"skipped,omitempty"`
	}
	req := struct {
		Pkg   string `json:"pkg"`
		Root  string `json:"root"`
		Lang  string `json:"lang,omitempty"`
		Files []file `json:"files"`
	}{Pkg: pkg, Root: root, Lang: lang}
	// A file already instrumented with the same inputs comes from the cache: a go test compiles
	// a package up to three times (pkg, pkg [pkg.test], pkg_test), and an edit changes one file.
	results := make([]file, len(files))
	keys := make([]string, len(files))
	var missing []int
	for n, i := range files {
		out := filepath.Join(outDir, fmt.Sprintf("%d_%s", n, filepath.Base(args[i])))
		results[n] = file{Path: args[i], Out: out}
		keys[n] = cacheKey(pkg, root, lang, args[i])
		if keys[n] != "" && fromCache(keys[n], out) {
			if _, err := os.Stat(out); err != nil {
				results[n].Out = "" // cached as left alone
			}
			continue
		}
		missing = append(missing, n)
		req.Files = append(req.Files, results[n])
	}
	if len(missing) > 0 {
		body, _ := json.Marshal(req)
		var answer struct{ Files []file }
		if err := runInstrumenter(body, &answer); err != nil {
			return nil, fmt.Errorf("instrumenting %s: %v", pkg, err)
		}
		for k, f := range answer.Files {
			if k >= len(missing) {
				break
			}
			n := missing[k]
			results[n].Out = f.Out
			if keys[n] != "" {
				toCache(keys[n], f.Out)
			}
		}
	}
	answer := struct{ Files []file }{results}
	changed := false
	for n, f := range answer.Files {
		if f.Out != "" && n < len(files) {
			args[files[n]] = f.Out
			changed = true
		}
	}
	if !changed {
		return args, nil
	}
	rt, err := runtimePackages(tool, work)
	if err != nil {
		return nil, err
	}
	cfg, err := addToImportcfg(importcfg, filepath.Join(outDir, "importcfg"), rt[:1])
	if err != nil {
		return nil, err
	}
	args[cfgIndex] = cfg
	return args, nil
}

// link adds the runtime and its dependencies to the link importcfg. Adding them to a program
// that never imports the runtime is harmless: the linker only loads what is imported.
func link(tool string, args []string) ([]string, error) {
	importcfg, i := flagValue(args, "-importcfg")
	if importcfg == "" || i < 0 {
		return args, nil
	}
	rt, err := runtimePackages(tool, filepath.Dir(filepath.Dir(importcfg)))
	if err != nil {
		return nil, err
	}
	cfg, err := addToImportcfg(importcfg, importcfg+".cti", rt)
	if err != nil {
		return nil, err
	}
	args[i] = cfg
	return args, nil
}

// lineDirectiveFile is the file named by a `//line path:line[:col]` in the first lines, or "".
func lineDirectiveFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := f.Read(buf)
	// cgo writes its "Code generated" header first, then the directive.
	rest := ""
	for _, line := range strings.SplitN(string(buf[:n]), "\n", 5) {
		if r, ok := strings.CutPrefix(line, "//line "); ok {
			rest = r
			break
		}
	}
	if rest == "" {
		return ""
	}
	// Strip ":line" or ":line:col" from the end (the path itself may contain colons).
	for k := 0; k < 2; k++ {
		if i := strings.LastIndexByte(rest, ':'); i > 0 && isDigits(rest[i+1:]) {
			rest = rest[:i]
		}
	}
	if !filepath.IsAbs(rest) {
		return ""
	}
	return rest
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// The instrumentation cache: <shim dir>/files/<key>.go, or <key>.skip for a file left alone.
// The key covers everything the instrumenter reads and the cti version; bin/cti-go empties the
// directory when it rebuilds the shim.
func cacheKey(pkg, root, lang, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", toolHash, pkg, root, lang, path)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func cacheDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "files")
}

// fromCache copies a cached result to out (nothing for a file left alone); false on a miss.
func fromCache(key, out string) bool {
	dir := cacheDir()
	if dir == "" {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, key+".skip")); err == nil {
		return true
	}
	data, err := os.ReadFile(filepath.Join(dir, key+".go"))
	if err != nil {
		return false
	}
	return os.WriteFile(out, data, 0o644) == nil
}

// toCache stores a result (out == "": the file was left alone); failures only cost a miss.
func toCache(key, out string) {
	dir := cacheDir()
	if dir == "" || os.MkdirAll(dir, 0o755) != nil {
		return
	}
	var data []byte
	name := key + ".skip"
	if out != "" {
		var err error
		if data, err = os.ReadFile(out); err != nil {
			return
		}
		name = key + ".go"
	}
	tmp, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	tmp.Close()
	if err != nil || os.Rename(tmp.Name(), filepath.Join(dir, name)) != nil {
		os.Remove(tmp.Name())
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// compile rewrites the arguments of a compile of a main-module package: its .go files are
// replaced by instrumented copies under $WORK/bNNN/cti/ and its importcfg gains the runtime.
func compile(tool string, args []string) ([]string, error) {
	for _, a := range args {
		if a == "-std" {
			return args, nil
		}
	}
	importcfg, cfgIndex := flagValue(args, "-importcfg")
	out, _ := flagValue(args, "-o")
	pkg, _ := flagValue(args, "-p")
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
		Files []file `json:"files"`
	}{Pkg: pkg, Root: root}
	for n, i := range files {
		req.Files = append(req.Files, file{Path: args[i], Out: filepath.Join(outDir, fmt.Sprintf("%d_%s", n, filepath.Base(args[i])))})
	}
	body, _ := json.Marshal(req)
	var answer struct{ Files []file }
	if err := runInstrumenter(body, &answer); err != nil {
		return nil, fmt.Errorf("instrumenting %s: %v", pkg, err)
	}
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

// runInstrumenter runs the Node instrumenter (dist/core/go/cli.js) on one package.
func runInstrumenter(request []byte, answer any) error {
	node := os.Getenv("CTI_NODE")
	if node == "" {
		node = "node"
	}
	cmd := exec.Command(node, filepath.Join(home, "dist", "core", "go", "cli.js"))
	cmd.Stdin = strings.NewReader(string(request))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return json.Unmarshal(out, answer)
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

// Command cti-go-shim is the per-tool-call half of `go build -toolexec cti-go`: bin/cti-go builds
// it once with the user's own Go toolchain and execs it for every tool the go command runs.
// Everything except compiling a package of the main module (or of a go.work module) passes
// through untouched without starting Node; those compiles send the package's files to the Node
// instrumenter once and compile the rewritten copies, with the runtime package made importable
// through the importcfg files (the user's go.mod is never touched).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var (
	home     string // the package directory (holds dist/ and src/go-toolexec/rt): set by bin/cti-go
	toolHash string // hash of the shim, runtime and instrumenter sources, from the stamp: part of the tool id
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "--write-stamp" { // bin/cti-go, after building us
		if err := writeStamp(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "cti-go: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 2 && os.Args[1] == "--version" { // also builds the shim: bench/go/run.mjs
		loadStamp()
		fmt.Println("cti-go", toolHash)
		return
	}
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: go build -toolexec cti-go [packages]  (also go test, go run, go install)")
		os.Exit(2)
	}
	tool, args := os.Args[1], os.Args[2:]
	name := strings.TrimSuffix(filepath.Base(tool), ".exe")
	if name == "compile" || name == "link" {
		loadStamp() // the other tools pass through: what cti is does not matter to them
	}
	var err error
	switch {
	case len(args) == 1 && args[0] == "-V=full" && (name == "compile" || name == "link"):
		if err = printToolID(tool); err == nil {
			return
		}
	case name == "compile":
		args, err = compile(tool, args)
	case name == "link":
		args, err = link(tool, args)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cti-go: %v\n", err)
		os.Exit(1)
	}
	run(tool, args)
}

// run runs the real tool with the same standard streams and exits with its status.
func run(tool string, args []string) {
	cmd := exec.Command(tool, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "cti-go: %v\n", err)
		os.Exit(1)
	}
}

// printToolID answers `-V=full` with the real tool's line plus our own build id, so the go
// command's cache keeps instrumented and plain artifacts apart and notices a new cti version.
// Release toolchains use the whole line as the tool id, devel ones the last buildID= field.
func printToolID(tool string) error {
	out, err := exec.Command(tool, "-V=full").Output()
	if err != nil {
		return err
	}
	line := strings.TrimSpace(string(out))
	sum := sha256.Sum256([]byte(line + "\x00" + toolHash))
	fmt.Printf("%s +cti buildID=_/_/_/%s\n", line, hex.EncodeToString(sum[:16]))
	return nil
}

// flagValue returns the value of a "-name value" or "-name=value" argument.
func flagValue(args []string, name string) (string, int) {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1], i + 1
		}
		if strings.HasPrefix(a, name+"=") {
			return a[len(name)+1:], -1
		}
	}
	return "", -1
}

func goBinary(tool string) string {
	// tool is $GOROOT/pkg/tool/<os_arch>/compile: use the go command of that same toolchain.
	goroot := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(tool))))
	bin := filepath.Join(goroot, "bin", "go")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	return "go"
}

// addToImportcfg writes a copy of an importcfg with the given packagefile lines added
// (those whose import path it does not map yet) and returns the copy's path.
func addToImportcfg(path, out string, lines []string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "packagefile "); ok {
			if p, _, ok := strings.Cut(rest, "="); ok {
				have[p] = true
			}
		}
	}
	var b bytes.Buffer
	b.Write(data)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, l := range lines {
		p, _, _ := strings.Cut(strings.TrimPrefix(l, "packagefile "), "=")
		if !have[p] {
			b.WriteString(l + "\n")
		}
	}
	return out, os.WriteFile(out, b.Bytes(), 0o644)
}

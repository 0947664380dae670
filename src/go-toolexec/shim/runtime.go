package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

const runtimeImport = "cti.dev/rt"

// runtimePackages returns the importcfg lines of the runtime (first) and of its dependencies,
// built by a nested `go list -export -deps` with the build's compile-affecting flags, once per
// build ($WORK) and under a file lock (compiles run in parallel). The nested go command runs
// its compiles through this shim too (instrumenting nothing): the standard library packages
// then have the same tool id, hence the same cache entries, as the outer build's, and a cold
// build compiles them once instead of twice. The answer is kept for the
// next builds with the same toolchain, flags and environment (runtimeCache) while every
// export file it names still exists.
func runtimePackages(tool, work string) ([]string, error) {
	cache := filepath.Join(work, "cti-runtime.importcfg")
	if lines, ok := readLines(cache); ok {
		return lines, nil
	}
	unlock, err := lockFile(filepath.Join(work, "cti-runtime.lock"), 0o644)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if lines, ok := readLines(cache); ok {
		return lines, nil
	}
	args := append([]string{"list", "-export", "-deps", "-f", "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}"}, buildFlags()...)
	goBin := goBinary(tool)
	shared := runtimeCache(goBin, args)
	if lines, ok := readLines(shared); ok && exportsExist(lines) {
		return lines, writeLines(cache, lines)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(goBin, append(args, "-toolexec", quoteArg(self), ".")...)
	cmd.Dir = filepath.Join(home, "src", "go-toolexec", "rt")
	cmd.Env = append(nestedEnv(), "CTI_GO_NESTED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("building the runtime (go %s): %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "packagefile "+runtimeImport+"=") {
			lines = append([]string{l}, lines...)
		} else if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "packagefile "+runtimeImport+"=") {
		return nil, fmt.Errorf("building the runtime: go list gave no export file for %s", runtimeImport)
	}
	if shared != "" {
		if os.MkdirAll(filepath.Dir(shared), 0o755) == nil {
			writeLines(shared, lines) // failing costs the next build a go list
		}
	}
	return lines, writeLines(cache, lines)
}

func writeLines(path string, lines []string) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// runtimeCache is the file, next to the shim, that keeps a go list answer for the builds with
// the same go command (path, size, time), go list arguments, runtime sources (toolHash), go env
// file and environment; "" when unknown.
func runtimeCache(goBin string, args []string) string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", toolHash, strings.Join(args, "\x00"))
	if p, err := exec.LookPath(goBin); err == nil {
		goBin = p
	}
	for _, f := range []string{goBin, goEnvFile()} {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s %d %d\x00", f, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "%s -\x00", f)
		}
	}
	// The environment the go command's configuration comes from.
	env := nestedEnv()
	sort.Strings(env)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GO") && name != "GOROOT_FINAL" || strings.HasPrefix(name, "CGO_"),
			name == "CC" || name == "CXX" || name == "AR" || name == "FC" || name == "PKG_CONFIG",
			name == "HOME" || name == "XDG_CONFIG_HOME" || name == "XDG_CACHE_HOME" || name == "PATH":
			fmt.Fprintf(h, "%s\x00", kv)
		}
	}
	return filepath.Join(filepath.Dir(exe), "runtime", hex.EncodeToString(h.Sum(nil)[:16])+".importcfg")
}

// goEnvFile is the file `go env -w` writes (its settings are not in our environment).
func goEnvFile() string {
	if f := os.Getenv("GOENV"); f != "" {
		return f
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "go", "env")
}

// exportsExist tells whether every export file named still exists (the go command trims its
// cache; its files are named after their contents, so one that exists is the right one).
func exportsExist(lines []string) bool {
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "packagefile "+runtimeImport+"=") {
		return false
	}
	for _, l := range lines {
		_, file, ok := strings.Cut(l, "=")
		if !ok {
			return false
		}
		if _, err := os.Stat(file); err != nil {
			return false
		}
	}
	return true
}

// quoteArg quotes a path for a go command flag that is split into fields (as -toolexec is).
func quoteArg(s string) string {
	if !strings.ContainsAny(s, " \t\n'\"") {
		return s
	}
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return "\"" + s + "\""
}

func readLines(path string) ([]string, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n"), true
}

// nestedEnv is our environment for the nested go command: GOFLAGS without -toolexec (no
// recursion) and without -mod/-modfile (they name the user's module), workspace mode off.
func nestedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOFLAGS=") {
			var keep []string
			for _, f := range strings.Fields(kv[len("GOFLAGS="):]) {
				if !strings.HasPrefix(f, "-toolexec") && !strings.HasPrefix(f, "--toolexec") && !strings.HasPrefix(f, "-mod") && !strings.HasPrefix(f, "--mod") {
					keep = append(keep, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		if strings.HasPrefix(kv, "GOWORK=") || strings.HasPrefix(kv, "GOTOOLCHAIN=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off", "GOTOOLCHAIN=local")
}

// buildFlags are the flags of the go command running us that change how every package
// (hence the runtime and its standard-library dependencies) is compiled.
func buildFlags() []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/cmdline")
	if err != nil {
		return nil
	}
	argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
	var flags []string
	for i := 1; i < len(argv); i++ {
		a := strings.Replace(argv[i], "--", "-", 1)
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-race", "-msan", "-asan", "-trimpath":
			if !hasValue || value == "true" {
				flags = append(flags, name)
			}
		case "-tags", "-gcflags", "-asmflags":
			if !hasValue && i+1 < len(argv) {
				i++
				value = argv[i]
			}
			// Per-package -gcflags apply to the command-line packages only: forward only all=.
			if (name == "-gcflags" || name == "-asmflags") && !strings.HasPrefix(value, "all=") {
				continue
			}
			flags = append(flags, name+"="+value)
		}
	}
	return flags
}

// lockFile takes an exclusive lock on path (created with perm), for compiles running in parallel;
// the returned function releases it.
func lockFile(path string, perm os.FileMode) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, perm)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

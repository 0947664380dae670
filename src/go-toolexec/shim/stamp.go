package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The shim lives in a cache directory keyed by the launcher's path (bin/cti-go runs no other
// program when it is there), next to a stamp file: the id of the sources it was built with
// (the tool id's part that changes with the runtime or the instrumenter) and their sizes and
// modification times. The shim checks these on each compile or link call (a few stat calls) and
// has the launcher rebuild it when a source changed.

// sourceGlobs are the files the shim's behaviour depends on, relative to home.
var sourceGlobs = []string{
	"package.json",
	"src/go-toolexec/shim/go.mod", "src/go-toolexec/shim/*.go",
	"src/go-toolexec/rt/go.mod", "src/go-toolexec/rt/*.go",
	"dist/core/config.js", "dist/core/tree-sitter/*.js", "dist/core/go/*.js",
}

// manifest lists the sources with their sizes and modification times, one per line.
func manifest() (string, []string) {
	var b strings.Builder
	var files []string
	for _, g := range sourceGlobs {
		matches, _ := filepath.Glob(filepath.Join(home, g))
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "%s %d %d\n", m[len(home):], fi.Size(), fi.ModTime().UnixNano())
			files = append(files, m)
		}
	}
	return b.String(), files
}

// writeStamp writes the stamp for the sources as they are now (their list is taken before
// their contents are read: a concurrent edit leaves a stale stamp, never a wrong one).
func writeStamp(path string) error {
	list, files := manifest()
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", home)
	for _, f := range files {
		file, err := os.Open(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00", f[len(home):])
		_, err = io.Copy(h, file)
		file.Close()
		if err != nil {
			return err
		}
	}
	id := hex.EncodeToString(h.Sum(nil)[:12])
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(id+"\n"+list), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// loadStamp sets toolHash from the stamp next to the executable. When the sources changed
// since (or the launcher now resolves to another checkout) it has the launcher rebuild the
// shim and run the call again; it does not return then.
func loadStamp() {
	rebuilding := os.Getenv("CTI_GO_REBUILD") != ""
	launcher := os.Getenv("CTI_GO_LAUNCHER")
	os.Unsetenv("CTI_GO_REBUILD")
	os.Unsetenv("CTI_GO_LAUNCHER")
	exe, err := os.Executable()
	if err != nil {
		return
	}
	data, _ := os.ReadFile(filepath.Join(filepath.Dir(exe), "stamp"))
	id, list, _ := strings.Cut(string(data), "\n")
	toolHash = id
	if rebuilding || launcher == "" {
		return
	}
	now, _ := manifest()
	if id != "" && list == now && launcherHome(launcher) == home {
		return
	}
	env := append(os.Environ(), "CTI_GO_REBUILD=1")
	err = syscall.Exec("/bin/sh", append([]string{"/bin/sh", launcher}, os.Args[1:]...), env)
	fmt.Fprintf(os.Stderr, "cti-go: rebuilding the shim: %v\n", err)
	os.Exit(1)
}

// launcherHome is the checkout bin/cti-go belongs to, its symbolic links resolved.
func launcherHome(launcher string) string {
	p, err := filepath.EvalSymlinks(launcher)
	if err != nil {
		return ""
	}
	return filepath.Dir(filepath.Dir(p))
}

package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mainModuleOf returns the root of the main module (or go.work module) that holds dir, or ""
// for the module cache, vendored packages, and modules that are only dependencies.
func mainModuleOf(dir string) string {
	mod := nearestGoMod(dir)
	if mod == "" {
		return ""
	}
	rel, err := filepath.Rel(mod, dir)
	if err != nil || strings.Contains(filepath.ToSlash(rel)+"/", "vendor/") {
		return ""
	}
	for _, m := range mainModules() {
		if m == mod {
			return mod
		}
	}
	return ""
}

func nearestGoMod(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// mainModules are the modules the go command works on: the `use` directories of go.work,
// else the module that holds the directory the go command runs in.
func mainModules() []string {
	cwd := goCommandDir()
	work := os.Getenv("GOWORK")
	if work == "" {
		for d := cwd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
				work = filepath.Join(d, "go.work")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if work != "" && work != "off" {
		if uses := workspaceModules(work); len(uses) > 0 {
			return uses
		}
	}
	if m := nearestGoMod(cwd); m != "" {
		return []string{m}
	}
	return nil
}

// goCommandDir is the working directory of the go command that runs us (our parent process).
func goCommandDir() string {
	if d, err := os.Readlink("/proc/" + strconv.Itoa(os.Getppid()) + "/cwd"); err == nil {
		return d
	}
	if d := os.Getenv("PWD"); d != "" {
		return d
	}
	d, _ := os.Getwd()
	return d
}

func workspaceModules(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	base := filepath.Dir(path)
	var dirs []string
	inUse := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "use (":
			inUse = true
			continue
		case inUse && line == ")":
			inUse = false
			continue
		case strings.HasPrefix(line, "use "):
			line = strings.TrimSpace(line[4:])
		case !inUse:
			continue
		}
		if line == "" {
			continue
		}
		if u, err := strconv.Unquote(line); err == nil {
			line = u
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(base, line)
		}
		dirs = append(dirs, filepath.Clean(line))
	}
	return dirs
}

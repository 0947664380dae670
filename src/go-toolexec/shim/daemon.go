package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The warm instrumenter: one Node process (dist/core/go/daemon.js) per cti version, Node binary
// and user serves the compiles of all builds running at the same time over a unix socket, and
// exits a few seconds after its last request. The shim starts it on first need, detached and
// with none of the go command's pipes (the build never waits for it), and falls back to the
// one-shot cli.js when it cannot be reached. CTI_GO_DAEMON=0 turns it off.

// runInstrumenter runs the Node instrumenter on one package.
func runInstrumenter(request []byte, answer any) error {
	node := os.Getenv("CTI_NODE")
	if node == "" {
		node = "node"
	}
	if os.Getenv("CTI_GO_DAEMON") != "0" {
		if out, ok := viaDaemon(node, request); ok {
			var r struct {
				Error *string `json:"error"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				return err
			}
			if r.Error != nil {
				return errors.New(strings.TrimSpace(*r.Error))
			}
			return json.Unmarshal(out, answer)
		}
	}
	return runOneShot(node, request, answer)
}

// runOneShot runs dist/core/go/cli.js on one package.
func runOneShot(node string, request []byte, answer any) error {
	cmd := exec.Command(node, filepath.Join(home, "dist", "core", "go", "cli.js"))
	cmd.Stdin = bytes.NewReader(request)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return json.Unmarshal(out, answer)
}

// viaDaemon sends a request to the daemon, starting it if needed; false if it cannot.
func viaDaemon(node string, request []byte) ([]byte, bool) {
	sock := daemonSocket(node)
	if sock == "" {
		return nil, false
	}
	for attempt := 0; attempt < 2; attempt++ {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			if conn, err = startDaemon(node, sock); err != nil {
				return nil, false
			}
		}
		out, err := exchange(conn, request)
		if err == nil {
			return out, true
		}
		// A daemon that was exiting as we connected resets the connection: start another.
	}
	return nil, false
}

func exchange(conn net.Conn, request []byte) ([]byte, error) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Minute))
	if _, err := conn.Write(request); err != nil {
		return nil, err
	}
	if err := conn.(*net.UnixConn).CloseWrite(); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(conn)
	if err == nil && len(out) == 0 {
		err = io.ErrUnexpectedEOF
	}
	return out, err
}

// daemonSocket is the socket of the daemon for this cti version and Node, in a directory only
// the user can use (a short path: unix socket paths are limited to about 100 bytes).
func daemonSocket(node string) string {
	if p, err := exec.LookPath(node); err == nil {
		node = p
	}
	uid := os.Getuid()
	dir := filepath.Join(os.TempDir(), "cti-go-"+strconv.Itoa(uid))
	os.Mkdir(dir, 0o700)
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return ""
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
		return ""
	}
	sum := sha256.Sum256([]byte(toolHash + "\x00" + home + "\x00" + node + "\x00" + os.Getenv("CTI_GO_DAEMON_IDLE_MS")))
	sock := filepath.Join(dir, hex.EncodeToString(sum[:8])+".sock")
	if len(sock) > 100 {
		return ""
	}
	return sock
}

// startDaemon starts the daemon (unless another compile just did, under the same lock) and
// connects to it.
func startDaemon(node, sock string) (net.Conn, error) {
	unlock, err := lockFile(sock+".lock", 0o600)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if conn, err := net.Dial("unix", sock); err == nil {
		return conn, nil
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command(node, filepath.Join(home, "dist", "core", "go", "daemon.js"), sock)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Dir = "/" // holds no directory of the build
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		if conn, err := net.Dial("unix", sock); err == nil {
			return conn, nil
		}
		select {
		case <-exited:
			return nil, errors.New("the daemon exited")
		case <-time.After(delay):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return nil, errors.New("the daemon did not start")
		}
	}
}

// Package harness starts and stops the real processes that ponte's test harnesses run on loopback: nats-server
// nodes (alone or in a cluster), the API simulators (`ponte sandbox`) and `ponte run` workers with a configuration
// derived from examples/ponte.yaml. cmd/ponte-chaos (docs/reliability.md) and cmd/ponte-bench
// (docs/benchmarks.md) share it.
//
// Every process it starts logs to a file of its own in the directory it is given, inherits the caller's
// environment without its PONTE_ variables, and is killed by the kernel if the caller dies (Pdeathsig).
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// Proc is a child process: a nats-server, the sandbox or a worker. Its output goes to Log, a file in the
// directory it was started in, named after it. Its methods are safe for concurrent use.
type Proc struct {
	// Name names the process in errors and its log file.
	Name string
	// Cmd is the running command.
	Cmd *exec.Cmd
	// Log is the path of the file the process writes its stdout and stderr to.
	Log  string
	done chan struct{}
	err  error
}

// Start runs bin with args and env (added to the caller's environment, less its PONTE_ variables) and returns
// at once. The process writes to dir/name.log.
func Start(dir, name, bin string, args []string, env []string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// The caller's environment without its PONTE_ variables (a developer's, or PONTE_CHAOS_NATS_SERVER): the
	// workers' configuration is the scenario's alone, and ponte run refuses variables it does not know.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PONTE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the harness
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Running says whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends sig and waits up to grace for the exit, then kills it; the error says it had to be killed.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	if err := p.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		p.Cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile
		<-p.done
		return fmt.Errorf("%s did not exit within %v of %v: killed", p.Name, grace, sig)
	}
}

// Kill is SIGKILL, waiting for the exit.
func (p *Proc) Kill() {
	if p.Running() {
		p.Cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile
	}
	<-p.done
}

// Tail returns the last n lines of the process's log, for an error message.
func (p *Proc) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePorts returns n distinct free TCP ports on loopback.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// WaitHTTP polls url until it answers 200, the process p exits, or ctx ends.
func WaitHTTP(ctx context.Context, p *Proc, url string) error {
	c := &http.Client{Timeout: time.Second}
	for {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.Running() {
			return fmt.Errorf("%s exited before %s answered 200:\n%s", p.Name, url, p.Tail(20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer 200: %w\n%s", p.Name, url, ctx.Err(), p.Tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Patiently runs op with a 10s deadline, again until it succeeds or 2 minutes pass: on a loaded machine a
// JetStream API request can go unanswered (a cluster electing a leader), and one lost request must not hang the
// caller until its overall deadline. The error names what.
func Patiently(ctx context.Context, what string, op func(ctx context.Context) error) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Quiet returns the options of a harness's own NATS connections: reconnect forever, and no error printed for a
// server the harness killed on purpose.
func Quiet(name string) []nats.Option {
	return []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}), nats.DisconnectErrHandler(nil)}
}

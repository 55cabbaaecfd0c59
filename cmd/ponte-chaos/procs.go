package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process: a nats-server, the sandbox or a ponte worker. Its output goes to a log file in the
// scenario's directory, named after it.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start runs bin with args and env (added to the harness's environment, less its PONTE_ variables) and returns
// at once.
func start(dir, name, bin string, args []string, env []string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// The harness's environment without its PONTE_ variables (a developer's, or PONTE_CHAOS_NATS_SERVER): the
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
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// running says whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to grace for the exit, then kills it.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		p.cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile
		<-p.done
		return fmt.Errorf("%s did not exit within %v of %v: killed", p.name, grace, sig)
	}
}

// kill is SIGKILL, waiting for the exit.
func (p *proc) kill() {
	if p.running() {
		p.cmd.Process.Kill() //nolint:errcheck // it may have exited meanwhile
	}
	<-p.done
}

// tail returns the last n lines of the process's log, for an error message.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct free TCP ports on loopback.
func freePorts(n int) ([]int, error) {
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

// waitHTTP polls url until it answers 200, the process exits, or ctx ends.
func waitHTTP(ctx context.Context, p *proc, url string) error {
	c := &http.Client{Timeout: time.Second}
	for {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.running() {
			return fmt.Errorf("%s exited before %s answered 200:\n%s", p.name, url, p.tail(20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not answer 200: %w\n%s", p.name, url, ctx.Err(), p.tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// natsNode is one nats-server with JetStream on file storage, alone or in a cluster of loopback nodes.
type natsNode struct {
	name              string
	port, http, route int
	conf              string
	p                 *proc
}

func (n *natsNode) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// natsCluster is the nats-server nodes of a scenario.
type natsCluster struct {
	bin, dir string
	nodes    []*natsNode
}

// newCluster writes the configuration of n nodes (one: a single server; three: a JetStream cluster on loopback)
// under dir. The durability is nats-server's default, sync_interval 2m: a process that is killed loses nothing
// the kernel has (the page cache outlives it); docs/reliability.md says when to choose sync_interval: always.
func newCluster(bin, dir string, n int) (*natsCluster, error) {
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	c := &natsCluster{bin: bin, dir: dir}
	var routes []string
	for i := range n {
		c.nodes = append(c.nodes, &natsNode{name: fmt.Sprintf("n%d", i+1), port: ports[3*i], http: ports[3*i+1], route: ports[3*i+2]})
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*i+2]))
	}
	for _, nd := range c.nodes {
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\nmax_payload: 1MB\n"+
			"jetstream {\n  store_dir: %q\n  max_file_store: 4GB\n  max_memory_store: 256MB\n}\n",
			nd.name, nd.port, nd.http, filepath.Join(dir, "js-"+nd.name))
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: chaos\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n", nd.route, strings.Join(routes, ", "))
		}
		nd.conf = filepath.Join(dir, "nats-"+nd.name+".conf")
		if err := os.WriteFile(nd.conf, []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// urls is every node's client URL, comma-separated, for ponte's nats.url.
func (c *natsCluster) urls() string {
	var us []string
	for _, n := range c.nodes {
		us = append(us, n.url())
	}
	return strings.Join(us, ",")
}

// launch starts node n's process (on its store, if it ran before).
func (c *natsCluster) launch(n *natsNode) (err error) {
	n.p, err = start(c.dir, "nats-"+n.name, c.bin, []string{"-c", n.conf}, nil)
	return err
}

// healthy waits until every node answers its health check: JetStream enabled, or, with jsOnly false, the whole
// of it (in a cluster: a meta leader, the streams current).
func (c *natsCluster) healthy(ctx context.Context, jsOnly bool, nodes ...*natsNode) error {
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	path := "/healthz"
	if jsOnly {
		path += "?js-enabled-only=true"
	}
	for _, n := range nodes {
		if err := waitHTTP(wctx, n.p, fmt.Sprintf("http://127.0.0.1:%d%s", n.http, path)); err != nil {
			return err
		}
	}
	return nil
}

// startNode restarts node n on its store and waits until its JetStream is up.
func (c *natsCluster) startNode(ctx context.Context, n *natsNode) error {
	if err := c.launch(n); err != nil {
		return err
	}
	return c.healthy(ctx, true, n)
}

// start starts every node, then waits until each is healthy (in a cluster: with a meta leader).
func (c *natsCluster) start(ctx context.Context) error {
	for _, n := range c.nodes {
		if err := c.launch(n); err != nil {
			return err
		}
	}
	return c.healthy(ctx, false, c.nodes...)
}

// stop stops every node with SIGTERM.
func (c *natsCluster) stop() {
	for _, n := range c.nodes {
		if n.p != nil {
			n.p.stop(syscall.SIGTERM, 15*time.Second) //nolint:errcheck // best effort at the end of a scenario
		}
	}
}

// node returns the node named name.
func (c *natsCluster) node(name string) *natsNode {
	for _, n := range c.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

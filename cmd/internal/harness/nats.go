package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NATSNode is one nats-server with JetStream on file storage, alone or in a cluster of loopback nodes.
type NATSNode struct {
	// Name is the server_name, also the node's log file (nats-<name>.log) and store (js-<name>).
	Name string
	// Port is the client port, HTTP the monitoring port (/healthz, /varz, /jsz), Route the cluster port.
	Port, HTTP, Route int
	// Conf is the path of the node's configuration file.
	Conf string
	// P is the running process, nil before Launch.
	P *Proc
}

// URL is the node's client URL.
func (n *NATSNode) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.Port) }

// NATSCluster is the nats-server nodes of a run. Not safe for concurrent use.
type NATSCluster struct {
	bin, dir string
	// Nodes are the servers, in the order of their names (n1, n2, ...).
	Nodes []*NATSNode
}

// NewCluster writes the configuration of n nodes (one: a single server; three: a JetStream cluster on loopback)
// under dir, for the nats-server binary bin. The durability is nats-server's default, sync_interval 2m: a
// process that is killed loses nothing the kernel has (the page cache outlives it); docs/reliability.md says when
// to choose sync_interval: always. Nothing is started.
func NewCluster(bin, dir string, n int) (*NATSCluster, error) {
	ports, err := FreePorts(3 * n)
	if err != nil {
		return nil, err
	}
	c := &NATSCluster{bin: bin, dir: dir}
	var routes []string
	for i := range n {
		c.Nodes = append(c.Nodes, &NATSNode{Name: fmt.Sprintf("n%d", i+1), Port: ports[3*i], HTTP: ports[3*i+1], Route: ports[3*i+2]})
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*i+2]))
	}
	for _, nd := range c.Nodes {
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\nmax_payload: 1MB\n"+
			"jetstream {\n  store_dir: %q\n  max_file_store: 4GB\n  max_memory_store: 256MB\n}\n",
			nd.Name, nd.Port, nd.HTTP, filepath.Join(dir, "js-"+nd.Name))
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: chaos\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n", nd.Route, strings.Join(routes, ", "))
		}
		nd.Conf = filepath.Join(dir, "nats-"+nd.Name+".conf")
		if err := os.WriteFile(nd.Conf, []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// URLs is every node's client URL, comma-separated, for ponte's nats.url.
func (c *NATSCluster) URLs() string {
	var us []string
	for _, n := range c.Nodes {
		us = append(us, n.URL())
	}
	return strings.Join(us, ",")
}

// Launch starts node n's process (on its store, if it ran before) and returns at once.
func (c *NATSCluster) Launch(n *NATSNode) (err error) {
	n.P, err = Start(c.dir, "nats-"+n.Name, c.bin, []string{"-c", n.Conf}, nil)
	return err
}

// Healthy waits up to 90s until every node answers its health check: JetStream enabled, or, with jsOnly false,
// the whole of it (in a cluster: a meta leader, the streams current).
func (c *NATSCluster) Healthy(ctx context.Context, jsOnly bool, nodes ...*NATSNode) error {
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	path := "/healthz"
	if jsOnly {
		path += "?js-enabled-only=true"
	}
	for _, n := range nodes {
		if err := WaitHTTP(wctx, n.P, fmt.Sprintf("http://127.0.0.1:%d%s", n.HTTP, path)); err != nil {
			return err
		}
	}
	return nil
}

// StartNode restarts node n on its store and waits until its JetStream is up.
func (c *NATSCluster) StartNode(ctx context.Context, n *NATSNode) error {
	if err := c.Launch(n); err != nil {
		return err
	}
	return c.Healthy(ctx, true, n)
}

// Start starts every node, then waits until each is healthy (in a cluster: with a meta leader).
func (c *NATSCluster) Start(ctx context.Context) error {
	for _, n := range c.Nodes {
		if err := c.Launch(n); err != nil {
			return err
		}
	}
	return c.Healthy(ctx, false, c.Nodes...)
}

// Stop stops every node with SIGTERM, killing one that is not gone within 15s.
func (c *NATSCluster) Stop() {
	for _, n := range c.Nodes {
		if n.P != nil {
			n.P.Stop(syscall.SIGTERM, 15*time.Second) //nolint:errcheck // best effort at the end of a run
		}
	}
}

// Node returns the node named name, nil if there is none.
func (c *NATSCluster) Node(name string) *NATSNode {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

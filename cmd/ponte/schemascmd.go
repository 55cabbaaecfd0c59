package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ponte-dev/ponte/schemas"
)

func runSchemas(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet("schemas", fmt.Sprintf("Usage: ponte schemas [NAME]\n\nPrints a JSON Schema or the AsyncAPI document. Without NAME, lists the names:\n  %s", strings.Join(schemas.Names(), "\n  ")))
	if err := fs.parse(args, 1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		for _, n := range schemas.Names() {
			fmt.Fprintln(env.stdout, n)
		}
		return nil
	}
	b, err := schemas.Document(fs.Arg(0))
	if err != nil {
		return err
	}
	_, err = env.stdout.Write(b)
	return err
}

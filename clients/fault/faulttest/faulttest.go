// Package faulttest holds what the simulators' tests share to abuse them: bodies too large to keep in memory.
package faulttest

import (
	"io"
	"strings"
)

// BigBody returns a reader of prefix followed by "x" up to size bytes in all, made as it is read: the inside of a
// JSON string or a form value that a decoder must read on, without the test holding size bytes.
func BigBody(prefix string, size int) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(filler{}, int64(size-len(prefix))))
}

// filler is an endless run of "x".
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Package examples embeds the example files shipped with ponte, so that `ponte sandbox` and `ponte dev` work from
// the binary alone: the simulators' fixtures (sandbox/*.yaml), the demo events (events/) and the annotated
// configuration (ponte.yaml).
package examples

import "embed"

// FS holds sandbox/*.yaml (one fixtures file per simulator: zeev.yaml, senior.yaml, cidades.yaml) and events/.
//
//go:embed sandbox
var FS embed.FS

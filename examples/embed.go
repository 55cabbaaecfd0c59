// Package examples embeds the example files shipped with ponte, so that `ponte sandbox` and `ponte dev` work from
// the binary alone: the simulators' fixtures (sandbox/*.yaml), the demo events (events/*.json) and the annotated
// configuration (ponte.yaml).
package examples

import "embed"

// FS holds sandbox/*.yaml (one fixtures file per simulator: zeev.yaml, senior.yaml, cidades.yaml), events/*.json
// (the demo of `ponte dev --demo`) and ponte.yaml.
//
//go:embed sandbox events ponte.yaml
var FS embed.FS

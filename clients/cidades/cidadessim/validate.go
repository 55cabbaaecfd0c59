package cidadessim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/ponte-dev/ponte/schemas"
)

// MaxObjeto is the most characters the objeto of a contratação may have.
const MaxObjeto = 2000

// The validation messages, in the API's language. %s is the field name.
const (
	msgObrigatorio = "O campo %s é obrigatório."
	msgInvalido    = "O valor informado para %s não é válido."
	msgData        = "O campo %s deve ser uma data no formato AAAA-MM-DD."
)

// decodeContratacao reads the client-set fields of a contratação from a JSON body and returns them with the
// errors of every field, keyed by the field's path ("contratado.documento"); "$" names a body that is not a JSON
// object. Server-set fields in the body are ignored, as are unknown fields.
func decodeContratacao(body []byte) (Contratacao, map[string][]string) {
	errs := make(map[string][]string)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		errs["$"] = []string{"O corpo da requisição deve ser um objeto JSON válido."}
		return Contratacao{}, errs
	}
	var c Contratacao
	c.NumeroContrato = str(m, "numeroContrato", "numeroContrato", true, errs)
	c.AnoContrato = integer(m, "anoContrato", "anoContrato", errs)
	c.Objeto = str(m, "objeto", "objeto", true, errs)
	switch v := m["contratado"].(type) {
	case nil:
		errs["contratado"] = []string{fmt.Sprintf(msgObrigatorio, "contratado")}
	case map[string]any:
		c.Contratado.TipoDocumento = str(v, "tipoDocumento", "contratado.tipoDocumento", true, errs)
		c.Contratado.Documento = str(v, "documento", "contratado.documento", true, errs)
		c.Contratado.Nome = str(v, "nome", "contratado.nome", true, errs)
	default:
		errs["contratado"] = []string{fmt.Sprintf(msgInvalido, "contratado")}
	}
	switch v := m["valorGlobal"].(type) {
	case nil:
		errs["valorGlobal"] = []string{fmt.Sprintf(msgObrigatorio, "valorGlobal")}
	case json.Number:
		cents, err := parseCentavos(v.String())
		switch {
		case errors.Is(err, errDecimals):
			errs["valorGlobal"] = []string{"O campo valorGlobal deve ter no máximo 2 casas decimais."}
		case err != nil:
			errs["valorGlobal"] = []string{fmt.Sprintf(msgInvalido, "valorGlobal")}
		default:
			c.ValorGlobal = Money(cents)
		}
	default:
		errs["valorGlobal"] = []string{fmt.Sprintf(msgInvalido, "valorGlobal")}
	}
	for _, d := range []struct {
		name string
		to   *Date
	}{{"dataAssinatura", &c.DataAssinatura}, {"dataInicioVigencia", &c.DataInicioVigencia}, {"dataFimVigencia", &c.DataFimVigencia}} {
		*d.to = Date(str(m, d.name, d.name, true, errs))
	}
	c.ModalidadeLicitacao = str(m, "modalidadeLicitacao", "modalidadeLicitacao", false, errs)
	c.NumeroProcessoAdministrativo = str(m, "numeroProcessoAdministrativo", "numeroProcessoAdministrativo", false, errs)
	c.FundamentoLegal = str(m, "fundamentoLegal", "fundamentoLegal", false, errs)
	return c, validateContratacao(c, errs)
}

// str reads the string field key of m; a missing or null field is "" (an error if required), a non-string is an
// error.
func str(m map[string]any, key, field string, required bool, errs map[string][]string) string {
	switch v := m[key].(type) {
	case nil:
		if required {
			errs[field] = []string{fmt.Sprintf(msgObrigatorio, field)}
		}
	case string:
		return v
	default:
		errs[field] = []string{fmt.Sprintf(msgInvalido, field)}
	}
	return ""
}

// integer reads the required int field key of m.
func integer(m map[string]any, key, field string, errs map[string][]string) int {
	switch v := m[key].(type) {
	case nil:
		errs[field] = []string{fmt.Sprintf(msgObrigatorio, field)}
	case json.Number:
		n, err := v.Int64()
		if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
			errs[field] = []string{fmt.Sprintf(msgInvalido, field)}
			return 0
		}
		return int(n)
	default:
		errs[field] = []string{fmt.Sprintf(msgInvalido, field)}
	}
	return 0
}

// validateContratacao applies the business rules to the client-set fields of c, adding to errs (which may be nil)
// an entry for each field that has none yet. It returns errs.
func validateContratacao(c Contratacao, errs map[string][]string) map[string][]string {
	if errs == nil {
		errs = make(map[string][]string)
	}
	add := func(field, format string, args ...any) {
		if _, ok := errs[field]; !ok {
			errs[field] = []string{fmt.Sprintf(format, args...)}
		}
	}
	if c.NumeroContrato == "" {
		add("numeroContrato", msgObrigatorio, "numeroContrato")
	}
	switch {
	case c.AnoContrato == 0:
		add("anoContrato", msgObrigatorio, "anoContrato")
	case c.AnoContrato < 1 || c.AnoContrato > 9999:
		add("anoContrato", "O campo anoContrato deve ser um ano entre 1 e 9999.")
	}
	switch n := utf8.RuneCountInString(c.Objeto); {
	case n == 0:
		add("objeto", msgObrigatorio, "objeto")
	case n > MaxObjeto:
		add("objeto", "O campo objeto deve ter no máximo %d caracteres.", MaxObjeto)
	}
	if _, bad := errs["contratado"]; !bad {
		validateContratado(c.Contratado, add)
	}
	if c.ValorGlobal <= 0 {
		add("valorGlobal", "O campo valorGlobal deve ser maior que zero.")
	}
	for _, d := range []struct {
		name string
		v    Date
	}{{"dataAssinatura", c.DataAssinatura}, {"dataInicioVigencia", c.DataInicioVigencia}, {"dataFimVigencia", c.DataFimVigencia}} {
		switch {
		case d.v == "":
			add(d.name, msgObrigatorio, d.name)
		case !d.v.valid():
			add(d.name, msgData, d.name)
		}
	}
	if c.DataInicioVigencia.valid() && c.DataFimVigencia.valid() && c.DataFimVigencia < c.DataInicioVigencia {
		add("dataFimVigencia", "O campo dataFimVigencia não pode ser anterior a dataInicioVigencia.")
	}
	return errs
}

func validateContratado(c Contratado, add func(field, format string, args ...any)) {
	if c.Nome == "" {
		add("contratado.nome", msgObrigatorio, "contratado.nome")
	}
	const doc = "contratado.documento"
	var n int
	var valid func(string) bool
	switch c.TipoDocumento {
	case "":
		add("contratado.tipoDocumento", msgObrigatorio, "contratado.tipoDocumento")
		if c.Documento == "" {
			add(doc, msgObrigatorio, doc)
		}
		return
	case "CPF":
		n, valid = 11, schemas.ValidCPF
	case "CNPJ":
		n, valid = 14, schemas.ValidCNPJ
	default:
		add("contratado.tipoDocumento", "O campo contratado.tipoDocumento deve ser CPF ou CNPJ.")
		return
	}
	switch {
	case c.Documento == "":
		add(doc, msgObrigatorio, doc)
	case schemas.Digits(c.Documento) != c.Documento:
		add(doc, "O campo contratado.documento deve conter somente dígitos.")
	case len(c.Documento) != n:
		add(doc, "O %s deve ter %d dígitos.", c.TipoDocumento, n)
	case !valid(c.Documento):
		add(doc, "O %s informado é inválido (dígitos verificadores).", c.TipoDocumento)
	}
}

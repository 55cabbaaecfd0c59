package cidadessim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/schemas"
)

// Permissao is an integration key's permission, as the UG manager chooses it when creating the key.
type Permissao string

// The permissions of an integration key.
const (
	// PermissaoLeitura is a read-only key: its tokens carry ScopeLeitura only.
	PermissaoLeitura Permissao = "LEITURA"
	// PermissaoLeituraEnvio is a read-and-send key: its tokens carry ScopeLeitura and ScopeEscrita.
	PermissaoLeituraEnvio Permissao = "LEITURA_E_ENVIO"
)

// The OAuth2 scopes of the tokens the simulator issues.
const (
	ScopeLeitura = "cidades.leitura"
	ScopeEscrita = "cidades.escrita"
)

// Key is an integration key (chave de integração) of one UG.
type Key struct {
	ClientID       string    `yaml:"clientId"`
	ClientSecret   string    `yaml:"clientSecret"`
	UnidadeGestora string    `yaml:"unidadeGestora"`
	Permissao      Permissao `yaml:"permissao"`
	Descricao      string    `yaml:"descricao"`
}

// Scope returns the scope of the key's tokens: "cidades.leitura" or "cidades.leitura cidades.escrita".
func (k Key) Scope() string {
	if k.Permissao == PermissaoLeituraEnvio {
		return ScopeLeitura + " " + ScopeEscrita
	}
	return ScopeLeitura
}

// Date is a calendar date "YYYY-MM-DD"; the empty Date is "no date" and is written as JSON null.
type Date string

// MarshalJSON implements json.Marshaler.
func (d Date) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

// valid reports whether d is a real date written YYYY-MM-DD.
func (d Date) valid() bool {
	_, err := time.Parse(time.DateOnly, string(d))
	return err == nil && len(d) == len(time.DateOnly)
}

// Money is an amount in centavos, written as a JSON number with two decimal places and read from YAML as a
// decimal number of reais (150000.00).
type Money int64

// MarshalJSON implements json.Marshaler: 1234.50.
func (m Money) MarshalJSON() ([]byte, error) {
	sign, v := "", int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Appendf(nil, "%s%d.%02d", sign, v/100, v%100), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *Money) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseCentavos(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: amount %q: %w", n.Line, n.Value, err)
	}
	*m = Money(v)
	return nil
}

var errDecimals = errors.New("more than two decimal places")

// parseCentavos reads a decimal number of reais ("1234.5", "-3", "1.2e3") as centavos.
func parseCentavos(s string) (int64, error) {
	t, neg := strings.CutPrefix(s, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(t), "e")
	e := 0
	if hasExp {
		var err error
		if e, err = strconv.Atoi(exp); err != nil || e > 18 || e < -18 {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := whole + frac
	if whole == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	scale := len(frac) - e - 2 // digits is the amount in centavos times 10^scale
	for scale > 0 && strings.HasSuffix(digits, "0") {
		digits, scale = digits[:len(digits)-1], scale-1
	}
	if scale > 0 {
		return 0, errDecimals
	}
	for ; scale < 0; scale++ {
		digits += "0"
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// UnidadeGestora is a UG. An aggregator (Agregadora) lists the codes of the UGs under it in Subordinadas; its
// keys see their data.
type UnidadeGestora struct {
	Codigo       string        `json:"codigo" yaml:"codigo"`
	Nome         string        `json:"nome" yaml:"nome"`
	Cnpj         string        `json:"cnpj" yaml:"cnpj"`
	Esfera       string        `json:"esfera" yaml:"esfera"`
	Municipio    string        `json:"municipio" yaml:"municipio"`
	Agregadora   bool          `json:"agregadora" yaml:"agregadora"`
	Subordinadas []string      `json:"subordinadas" yaml:"subordinadas"`
	Responsaveis []Responsavel `json:"-" yaml:"responsaveis"`
}

// Responsavel is a person responsible for a UG; DataFim is empty while the term lasts.
type Responsavel struct {
	Cpf                  string `json:"cpf" yaml:"cpf"`
	Nome                 string `json:"nome" yaml:"nome"`
	Cargo                string `json:"cargo" yaml:"cargo"`
	TipoResponsabilidade string `json:"tipoResponsabilidade" yaml:"tipoResponsabilidade"`
	DataInicio           Date   `json:"dataInicio" yaml:"dataInicio"`
	DataFim              Date   `json:"dataFim" yaml:"dataFim"`
}

// ProcessoAdministrativo identifies the UG's administrative process of an act.
type ProcessoAdministrativo struct {
	Numero string `json:"numero" yaml:"numero"`
	Ano    int    `json:"ano" yaml:"ano"`
}

// Ato is an act of personnel: an admission (TipoBeneficio empty) or a benefit grant (concessão, TipoBeneficio one
// of APOSENTADORIA, REFORMA, RESERVA).
type Ato struct {
	ID                     int64                  `json:"id" yaml:"id"`
	CodigoUnidadeGestora   string                 `json:"codigoUnidadeGestora" yaml:"codigoUnidadeGestora"`
	Cpf                    string                 `json:"cpf" yaml:"cpf"`
	NomeServidor           string                 `json:"nomeServidor" yaml:"nomeServidor"`
	Cargo                  string                 `json:"cargo" yaml:"cargo"`
	TipoAto                string                 `json:"tipoAto" yaml:"tipoAto"`
	DataHomologacao        Date                   `json:"dataHomologacao" yaml:"dataHomologacao"`
	DataPublicacao         Date                   `json:"dataPublicacao" yaml:"dataPublicacao"`
	SituacaoAto            string                 `json:"situacaoAto" yaml:"situacaoAto"`
	ProcessoAdministrativo ProcessoAdministrativo `json:"processoAdministrativo" yaml:"processoAdministrativo"`
	ProcessoTcees          string                 `json:"processoTcees" yaml:"processoTcees"`
	NumeroCertidao         string                 `json:"numeroCertidao" yaml:"numeroCertidao"`
	NumeroDecisao          string                 `json:"numeroDecisao" yaml:"numeroDecisao"`
	AnoReferencia          int                    `json:"anoReferencia" yaml:"anoReferencia"`
	TipoBeneficio          string                 `json:"tipoBeneficio,omitempty" yaml:"tipoBeneficio"`
}

// The benefit types of concessões.
const (
	BeneficioAposentadoria = "APOSENTADORIA"
	BeneficioReforma       = "REFORMA"
	BeneficioReserva       = "RESERVA"
)

// validBeneficio reports whether s is a benefit type.
func validBeneficio(s string) bool {
	return s == BeneficioAposentadoria || s == BeneficioReforma || s == BeneficioReserva
}

// Contratado is the contracted party of a Contratacao.
type Contratado struct {
	TipoDocumento string `json:"tipoDocumento" yaml:"tipoDocumento"`
	Documento     string `json:"documento" yaml:"documento"`
	Nome          string `json:"nome" yaml:"nome"`
}

// Contratacao is a contract as the simulator stores and serves it.
type Contratacao struct {
	ID                           int64      `json:"id" yaml:"id"`
	CodigoUnidadeGestora         string     `json:"codigoUnidadeGestora" yaml:"codigoUnidadeGestora"`
	NumeroContrato               string     `json:"numeroContrato" yaml:"numeroContrato"`
	AnoContrato                  int        `json:"anoContrato" yaml:"anoContrato"`
	Objeto                       string     `json:"objeto" yaml:"objeto"`
	Contratado                   Contratado `json:"contratado" yaml:"contratado"`
	ValorGlobal                  Money      `json:"valorGlobal" yaml:"valorGlobal"`
	DataAssinatura               Date       `json:"dataAssinatura" yaml:"dataAssinatura"`
	DataInicioVigencia           Date       `json:"dataInicioVigencia" yaml:"dataInicioVigencia"`
	DataFimVigencia              Date       `json:"dataFimVigencia" yaml:"dataFimVigencia"`
	ModalidadeLicitacao          string     `json:"modalidadeLicitacao,omitempty" yaml:"modalidadeLicitacao"`
	NumeroProcessoAdministrativo string     `json:"numeroProcessoAdministrativo,omitempty" yaml:"numeroProcessoAdministrativo"`
	FundamentoLegal              string     `json:"fundamentoLegal,omitempty" yaml:"fundamentoLegal"`
	Situacao                     string     `json:"situacao" yaml:"situacao"`
	DataCadastro                 time.Time  `json:"dataCadastro" yaml:"dataCadastro"`
	DataAtualizacao              time.Time  `json:"dataAtualizacao" yaml:"dataAtualizacao"`
}

// Fixtures is the initial state of a Server: the UGs with their responsáveis, the integration keys, the atos de
// pessoal and the contratações. examples/sandbox/cidades.yaml holds the development set.
type Fixtures struct {
	UnidadesGestoras []UnidadeGestora `yaml:"unidadesGestoras"`
	Keys             []Key            `yaml:"keys"`
	Admissoes        []Ato            `yaml:"admissoes"`
	Concessoes       []Ato            `yaml:"concessoes"`
	Contratacoes     []Contratacao    `yaml:"contratacoes"`
}

// LoadFixtures reads fixtures from YAML, strictly: an unknown field is an error, and so is any value Validate
// rejects. Errors name the bad field ("cidades fixtures: contratacoes[1].contratado.documento: ...").
func LoadFixtures(b []byte) (Fixtures, error) {
	var f Fixtures
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Fixtures{}, fmt.Errorf("cidades fixtures: %w", err)
	}
	if err := f.Validate(); err != nil {
		return Fixtures{}, err
	}
	return f, nil
}

// Validate checks the fixtures' references and values with the rules the API applies, and reports the first
// problem, naming the field.
func (f Fixtures) Validate() error {
	fail := func(field string, format string, args ...any) error {
		return fmt.Errorf("cidades fixtures: %s: %s", field, fmt.Sprintf(format, args...))
	}
	ugs := make(map[string]UnidadeGestora)
	for i, ug := range f.UnidadesGestoras {
		at := fmt.Sprintf("unidadesGestoras[%d]", i)
		switch {
		case ug.Codigo == "":
			return fail(at+".codigo", "required")
		case ugs[ug.Codigo].Codigo != "":
			return fail(at+".codigo", "%q appears twice", ug.Codigo)
		case ug.Nome == "":
			return fail(at+".nome", "required")
		case schemas.Digits(ug.Cnpj) != ug.Cnpj || !schemas.ValidCNPJ(ug.Cnpj):
			return fail(at+".cnpj", "%q is not a valid CNPJ of 14 digits", ug.Cnpj)
		case len(ug.Subordinadas) > 0 && !ug.Agregadora:
			return fail(at+".subordinadas", "only an aggregator (agregadora: true) has subordinates")
		}
		for j, r := range ug.Responsaveis {
			rat := fmt.Sprintf("%s.responsaveis[%d]", at, j)
			switch {
			case schemas.Digits(r.Cpf) != r.Cpf || !schemas.ValidCPF(r.Cpf):
				return fail(rat+".cpf", "%q is not a valid CPF of 11 digits", r.Cpf)
			case r.Nome == "":
				return fail(rat+".nome", "required")
			case !r.DataInicio.valid():
				return fail(rat+".dataInicio", "%q is not a YYYY-MM-DD date", r.DataInicio)
			case r.DataFim != "" && !r.DataFim.valid():
				return fail(rat+".dataFim", "%q is not a YYYY-MM-DD date", r.DataFim)
			case r.DataFim != "" && r.DataFim < r.DataInicio:
				return fail(rat+".dataFim", "before dataInicio")
			}
		}
		ugs[ug.Codigo] = ug
	}
	for i, ug := range f.UnidadesGestoras {
		for j, sub := range ug.Subordinadas {
			if _, ok := ugs[sub]; !ok || sub == ug.Codigo {
				return fail(fmt.Sprintf("unidadesGestoras[%d].subordinadas[%d]", i, j), "%q is not another UG", sub)
			}
		}
	}
	ids := make(map[string]bool)
	for i, k := range f.Keys {
		at := fmt.Sprintf("keys[%d]", i)
		switch {
		case k.ClientID == "":
			return fail(at+".clientId", "required")
		case ids[k.ClientID]:
			return fail(at+".clientId", "%q appears twice", k.ClientID)
		case k.ClientSecret == "":
			return fail(at+".clientSecret", "required")
		case ugs[k.UnidadeGestora].Codigo == "":
			return fail(at+".unidadeGestora", "%q is not a UG of unidadesGestoras", k.UnidadeGestora)
		case k.Permissao != PermissaoLeitura && k.Permissao != PermissaoLeituraEnvio:
			return fail(at+".permissao", "%q is not %s or %s", k.Permissao, PermissaoLeitura, PermissaoLeituraEnvio)
		}
		ids[k.ClientID] = true
	}
	for _, list := range []struct {
		name       string
		atos       []Ato
		concessoes bool
	}{{"admissoes", f.Admissoes, false}, {"concessoes", f.Concessoes, true}} {
		seen := make(map[int64]bool)
		for i, a := range list.atos {
			at := fmt.Sprintf("%s[%d]", list.name, i)
			switch {
			case a.ID < 0 || (a.ID > 0 && seen[a.ID]):
				return fail(at+".id", "%d is negative or appears twice", a.ID)
			case ugs[a.CodigoUnidadeGestora].Codigo == "":
				return fail(at+".codigoUnidadeGestora", "%q is not a UG of unidadesGestoras", a.CodigoUnidadeGestora)
			case schemas.Digits(a.Cpf) != a.Cpf || !schemas.ValidCPF(a.Cpf):
				return fail(at+".cpf", "%q is not a valid CPF of 11 digits", a.Cpf)
			case a.NomeServidor == "":
				return fail(at+".nomeServidor", "required")
			case a.DataHomologacao != "" && !a.DataHomologacao.valid():
				return fail(at+".dataHomologacao", "%q is not a YYYY-MM-DD date", a.DataHomologacao)
			case a.DataPublicacao != "" && !a.DataPublicacao.valid():
				return fail(at+".dataPublicacao", "%q is not a YYYY-MM-DD date", a.DataPublicacao)
			case a.AnoReferencia <= 0:
				return fail(at+".anoReferencia", "required")
			case !list.concessoes && a.TipoBeneficio != "":
				return fail(at+".tipoBeneficio", "only concessoes have a tipoBeneficio")
			case list.concessoes && !validBeneficio(a.TipoBeneficio):
				return fail(at+".tipoBeneficio", "%q is not %s, %s or %s", a.TipoBeneficio, BeneficioAposentadoria, BeneficioReforma, BeneficioReserva)
			}
			seen[a.ID] = true
		}
	}
	seen := make(map[int64]bool)
	keys := make(map[contratoKey]bool)
	for i, c := range f.Contratacoes {
		at := fmt.Sprintf("contratacoes[%d]", i)
		if c.ID < 0 || (c.ID > 0 && seen[c.ID]) {
			return fail(at+".id", "%d is negative or appears twice", c.ID)
		}
		if ugs[c.CodigoUnidadeGestora].Codigo == "" {
			return fail(at+".codigoUnidadeGestora", "%q is not a UG of unidadesGestoras", c.CodigoUnidadeGestora)
		}
		if errs := validateContratacao(c, nil); len(errs) > 0 {
			field := slices.Min(slices.Collect(maps.Keys(errs)))
			return fail(at+"."+field, "%s", strings.Join(errs[field], " "))
		}
		k := keyOf(c)
		if keys[k] {
			return fail(at+".numeroContrato", "%s/%d appears twice in UG %s", c.NumeroContrato, c.AnoContrato, c.CodigoUnidadeGestora)
		}
		keys[k], seen[c.ID] = true, true
	}
	return nil
}

// contratoKey is the natural key of a contratação: no two share it.
type contratoKey struct {
	ug     string
	numero string
	ano    int
}

func keyOf(c Contratacao) contratoKey {
	return contratoKey{c.CodigoUnidadeGestora, c.NumeroContrato, c.AnoContrato}
}

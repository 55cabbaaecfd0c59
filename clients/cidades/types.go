package cidades

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar date without time of day or zone, written "YYYY-MM-DD" on the wire. The zero Date is "no
// date": it is written as JSON null and read from null or "".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d. It does not normalise: use ParseDate or DateOf for checked values.
func NewDate(y int, m time.Month, d int) Date { return Date{y, m, d} }

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads "YYYY-MM-DD". It also accepts a date-time whose date part is that ("2024-03-01T00:00:00", the
// ASP.NET rendering of a DateTime), keeping the date. The empty string gives the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10]
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("cidades: date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String returns "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDate.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON implements json.Marshaler: "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) { return stringOrNull(d.String()), nil }

// UnmarshalJSON implements json.Unmarshaler: a "YYYY-MM-DD" string, "" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	s, err := unquoteOrNull(b, "date")
	if err != nil {
		return err
	}
	return d.UnmarshalText([]byte(s))
}

// stringOrNull writes s as a JSON string, or null when s is "". s must need no escaping.
func stringOrNull(s string) []byte {
	if s == "" {
		return []byte("null")
	}
	return []byte(`"` + s + `"`)
}

// unquoteOrNull reads a JSON string, giving "" for null; what names the value in the error.
func unquoteOrNull(b []byte, what string) (string, error) {
	if string(b) == "null" {
		return "", nil
	}
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return "", fmt.Errorf("cidades: %s %s is not a JSON string", what, b)
	}
	return s, nil
}

// Timestamp is a server-set instant (dataCadastro, dataAtualizacao). It is written in RFC 3339 and read from RFC
// 3339, from a date-time without offset (read as UTC-3, the Espírito Santo time) or from a date. The zero
// Timestamp is written as null and read from null or "".
type Timestamp struct{ time.Time }

// brasilia returns UTC-3, the offset of Espírito Santo (no daylight saving time since 2019).
func brasilia() *time.Location { return time.FixedZone("-03", -3*60*60) }

// MarshalJSON implements json.Marshaler: RFC 3339, or null for the zero Timestamp.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	var s string
	if !t.IsZero() {
		s = t.Format(time.RFC3339)
	}
	return stringOrNull(s), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s, err := unquoteOrNull(b, "timestamp")
	if err != nil {
		return err
	}
	if s == "" {
		*t = Timestamp{}
		return nil
	}
	loc := brasilia()
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			*t = Timestamp{v}
			return nil
		}
	}
	return fmt.Errorf("cidades: timestamp %q is not RFC 3339", s)
}

// Money is an amount in centavos of real: Money(123450) is R$ 1.234,50. It is written as a JSON number with two
// decimal places (1234.50).
type Money int64

// ParseMoney reads a decimal amount in reais with at most two decimal places: "1234.5", "1234.50", "-3". It
// rejects thousands separators, commas, exponents and more than two (non-zero) decimal places.
func ParseMoney(s string) (Money, error) {
	t, neg := strings.CutPrefix(s, "-")
	whole, frac, dot := strings.Cut(t, ".")
	if !allDigits(whole) || (dot && !allDigits(frac)) {
		return 0, fmt.Errorf("cidades: amount %q is not a decimal number", s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, fmt.Errorf("cidades: amount %q has more than two decimal places", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > (math.MaxInt64-99)/100 {
		return 0, fmt.Errorf("cidades: amount %q is out of range", s)
	}
	c, _ := strconv.Atoi((frac + "00")[:2])
	v := w*100 + int64(c)
	if neg {
		v = -v
	}
	return Money(v), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the amount in reais with two decimal places: "1234.50", "-0.05".
func (m Money) String() string {
	sign, v := "", int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// MarshalJSON implements json.Marshaler: a number with two decimal places.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON implements json.Unmarshaler: a JSON number (or a numeric string) with at most two decimal places.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		*m = 0
		return nil
	}
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	} else if strings.ContainsAny(s, "eE") {
		// An exponent is valid JSON: read it exactly, then insist on whole centavos.
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return fmt.Errorf("cidades: amount %s is not a number", b)
		}
		s = r.FloatString(2)
		if v, _ := new(big.Rat).SetString(s); v.Cmp(r) != 0 {
			return fmt.Errorf("cidades: amount %s has more than two decimal places", b)
		}
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Document types of Contratado.TipoDocumento.
const (
	TipoCPF  = "CPF"
	TipoCNPJ = "CNPJ"
)

// Contratado is the contracted party.
type Contratado struct {
	// TipoDocumento is TipoCPF or TipoCNPJ.
	TipoDocumento string `json:"tipoDocumento"`
	// Documento is the CPF (11) or CNPJ (14) as digits only, with valid check digits.
	Documento string `json:"documento"`
	// Nome is the person's or company's name.
	Nome string `json:"nome"`
}

// Contratacao is a contract (contratação). Required when sending: NumeroContrato, AnoContrato, Objeto (at most
// 2000 characters), Contratado, ValorGlobal (> 0), DataAssinatura, DataInicioVigencia and DataFimVigencia (not
// before the start). The server sets ID, CodigoUnidadeGestora, Situacao, DataCadastro and DataAtualizacao; the
// client never sends them.
type Contratacao struct {
	ID                           int64      `json:"id,omitempty"`
	CodigoUnidadeGestora         string     `json:"codigoUnidadeGestora,omitempty"`
	NumeroContrato               string     `json:"numeroContrato"`
	AnoContrato                  int        `json:"anoContrato"`
	Objeto                       string     `json:"objeto"`
	Contratado                   Contratado `json:"contratado"`
	ValorGlobal                  Money      `json:"valorGlobal"`
	DataAssinatura               Date       `json:"dataAssinatura"`
	DataInicioVigencia           Date       `json:"dataInicioVigencia"`
	DataFimVigencia              Date       `json:"dataFimVigencia"`
	ModalidadeLicitacao          string     `json:"modalidadeLicitacao,omitempty"`
	NumeroProcessoAdministrativo string     `json:"numeroProcessoAdministrativo,omitempty"`
	FundamentoLegal              string     `json:"fundamentoLegal,omitempty"`
	Situacao                     string     `json:"situacao,omitempty"`
	DataCadastro                 Timestamp  `json:"dataCadastro,omitzero"`
	DataAtualizacao              Timestamp  `json:"dataAtualizacao,omitzero"`
}

// contratacaoBody is what POST and PUT send: the client-set fields of a Contratacao.
type contratacaoBody struct {
	NumeroContrato               string     `json:"numeroContrato"`
	AnoContrato                  int        `json:"anoContrato"`
	Objeto                       string     `json:"objeto"`
	Contratado                   Contratado `json:"contratado"`
	ValorGlobal                  Money      `json:"valorGlobal"`
	DataAssinatura               Date       `json:"dataAssinatura"`
	DataInicioVigencia           Date       `json:"dataInicioVigencia"`
	DataFimVigencia              Date       `json:"dataFimVigencia"`
	ModalidadeLicitacao          string     `json:"modalidadeLicitacao,omitempty"`
	NumeroProcessoAdministrativo string     `json:"numeroProcessoAdministrativo,omitempty"`
	FundamentoLegal              string     `json:"fundamentoLegal,omitempty"`
}

func bodyOf(c Contratacao) contratacaoBody {
	return contratacaoBody{
		NumeroContrato:               c.NumeroContrato,
		AnoContrato:                  c.AnoContrato,
		Objeto:                       c.Objeto,
		Contratado:                   c.Contratado,
		ValorGlobal:                  c.ValorGlobal,
		DataAssinatura:               c.DataAssinatura,
		DataInicioVigencia:           c.DataInicioVigencia,
		DataFimVigencia:              c.DataFimVigencia,
		ModalidadeLicitacao:          c.ModalidadeLicitacao,
		NumeroProcessoAdministrativo: c.NumeroProcessoAdministrativo,
		FundamentoLegal:              c.FundamentoLegal,
	}
}

// Page is one page of a list: Dados holds at most TamanhoPagina rows; Pagina is 1-based.
type Page[T any] struct {
	Dados          []T `json:"dados"`
	Pagina         int `json:"pagina"`
	TamanhoPagina  int `json:"tamanhoPagina"`
	TotalRegistros int `json:"totalRegistros"`
	TotalPaginas   int `json:"totalPaginas"`
}

// ContratacaoFilter selects contratações. Zero fields are not sent. Pagina is 1-based (0: the server's default,
// 1); TamanhoPagina is at most 100 (0: the server's default, 50, or Config.PageSize in the All and Find helpers).
type ContratacaoFilter struct {
	NumeroContrato       string // numeroContrato
	Ano                  int    // ano: the contract's anoContrato
	DocumentoContratado  string // documentoContratado: the contracted party's CPF or CNPJ, digits only
	DataAssinaturaInicio Date   // dataAssinaturaInicio: signed on or after
	DataAssinaturaFim    Date   // dataAssinaturaFim: signed on or before
	Pagina               int    // pagina
	TamanhoPagina        int    // tamanhoPagina
}

// Benefit types of AtoPessoal.TipoBeneficio and AtoFilter.TipoBeneficio.
const (
	BeneficioAposentadoria = "APOSENTADORIA"
	BeneficioReforma       = "REFORMA"
	BeneficioReserva       = "RESERVA"
)

// AtoFilter selects atos de pessoal. Zero fields are not sent. TipoBeneficio applies to concessões only;
// ListAdmissoes rejects a filter that sets it. Pagina and TamanhoPagina are as in ContratacaoFilter.
type AtoFilter struct {
	Cpf                 string // cpf: the servant's CPF, digits only
	NumeroProcessoTcees string // numeroProcessoTcees
	NumeroCertidao      string // numeroCertidao
	NumeroDecisao       string // numeroDecisao
	AnoReferencia       int    // anoReferencia
	TipoBeneficio       string // tipoBeneficio: BeneficioAposentadoria, BeneficioReforma or BeneficioReserva
	Pagina              int    // pagina
	TamanhoPagina       int    // tamanhoPagina
}

// ProcessoAdministrativo identifies the UG's administrative process of an act.
type ProcessoAdministrativo struct {
	Numero string `json:"numero"`
	Ano    int    `json:"ano"`
}

// AtoPessoal is an admission act (admissão) or a benefit act (concessão: aposentadoria, reforma, reserva). Dates
// not yet set are zero. TipoBeneficio is set on concessões only.
type AtoPessoal struct {
	ID                     int64                  `json:"id"`
	CodigoUnidadeGestora   string                 `json:"codigoUnidadeGestora"`
	Cpf                    string                 `json:"cpf"`
	NomeServidor           string                 `json:"nomeServidor"`
	Cargo                  string                 `json:"cargo"`
	TipoAto                string                 `json:"tipoAto"`
	DataHomologacao        Date                   `json:"dataHomologacao"`
	DataPublicacao         Date                   `json:"dataPublicacao"`
	SituacaoAto            string                 `json:"situacaoAto"`
	ProcessoAdministrativo ProcessoAdministrativo `json:"processoAdministrativo"`
	ProcessoTcees          string                 `json:"processoTcees"`
	NumeroCertidao         string                 `json:"numeroCertidao"`
	NumeroDecisao          string                 `json:"numeroDecisao"`
	AnoReferencia          int                    `json:"anoReferencia"`
	TipoBeneficio          string                 `json:"tipoBeneficio,omitempty"`
}

// UnidadeGestora is a UG (unidade gestora). An aggregator (Agregadora) lists the codes of the UGs under it in
// Subordinadas.
type UnidadeGestora struct {
	Codigo       string   `json:"codigo"`
	Nome         string   `json:"nome"`
	Cnpj         string   `json:"cnpj"`
	Esfera       string   `json:"esfera"`
	Municipio    string   `json:"municipio"`
	Agregadora   bool     `json:"agregadora"`
	Subordinadas []string `json:"subordinadas"`
}

// Responsavel is a person responsible for a UG over a period; DataFim is zero while the term lasts.
type Responsavel struct {
	Cpf                  string `json:"cpf"`
	Nome                 string `json:"nome"`
	Cargo                string `json:"cargo"`
	TipoResponsabilidade string `json:"tipoResponsabilidade"`
	DataInicio           Date   `json:"dataInicio"`
	DataFim              Date   `json:"dataFim"`
}

package handlers

import (
	"errors"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/schemas"
)

// contrato is the contract object of the contract.* events. Pointers are fields an amendment may leave out.
type contrato struct {
	Numero                       string         `json:"numero"`
	Ano                          int            `json:"ano"`
	Objeto                       *string        `json:"objeto"`
	Contratado                   *contratado    `json:"contratado"`
	ValorGlobal                  *cidades.Money `json:"valorGlobal"`
	DataAssinatura               *cidades.Date  `json:"dataAssinatura"`
	Vigencia                     *vigencia      `json:"vigencia"`
	ModalidadeLicitacao          *string        `json:"modalidadeLicitacao"`
	NumeroProcessoAdministrativo *string        `json:"numeroProcessoAdministrativo"`
	FundamentoLegal              *string        `json:"fundamentoLegal"`
}

type contratado struct {
	Documento string `json:"documento"`
	Nome      string `json:"nome"`
}

type vigencia struct {
	Inicio cidades.Date `json:"inicio"`
	Fim    cidades.Date `json:"fim"`
}

type contractData struct {
	Contrato contrato `json:"contrato"`
}

// contractEvent returns the UG (the CloudEvent extension ug) and the contract of a contract.* event.
func contractEvent(ev event.Event) (string, contrato, error) {
	ug, err := ugOf(ev)
	if err != nil {
		return "", contrato{}, err
	}
	var data contractData
	if err := decode(ev, &data); err != nil {
		return "", contrato{}, err
	}
	return ug, data.Contrato, nil
}

// apply writes the fields the event sets onto ct.
func (c contrato) apply(ct *cidades.Contratacao) {
	ct.NumeroContrato, ct.AnoContrato = c.Numero, c.Ano
	if c.Objeto != nil {
		ct.Objeto = *c.Objeto
	}
	if c.Contratado != nil {
		doc := schemas.Digits(c.Contratado.Documento)
		tipo := cidades.TipoCNPJ
		if len(doc) == 11 {
			tipo = cidades.TipoCPF
		}
		ct.Contratado = cidades.Contratado{TipoDocumento: tipo, Documento: doc, Nome: c.Contratado.Nome}
	}
	if c.ValorGlobal != nil {
		ct.ValorGlobal = *c.ValorGlobal
	}
	if c.DataAssinatura != nil {
		ct.DataAssinatura = *c.DataAssinatura
	}
	if c.Vigencia != nil {
		ct.DataInicioVigencia, ct.DataFimVigencia = c.Vigencia.Inicio, c.Vigencia.Fim
	}
	if c.ModalidadeLicitacao != nil {
		ct.ModalidadeLicitacao = *c.ModalidadeLicitacao
	}
	if c.NumeroProcessoAdministrativo != nil {
		ct.NumeroProcessoAdministrativo = *c.NumeroProcessoAdministrativo
	}
	if c.FundamentoLegal != nil {
		ct.FundamentoLegal = *c.FundamentoLegal
	}
}

// cidadesFields maps CidadES field names in a 400 answer to the event's JSON pointers.
var cidadesFields = map[string]string{
	"numeroContrato":               "/contrato/numero",
	"anoContrato":                  "/contrato/ano",
	"objeto":                       "/contrato/objeto",
	"contratado":                   "/contrato/contratado",
	"contratado.tipoDocumento":     "/contrato/contratado/documento",
	"contratado.documento":         "/contrato/contratado/documento",
	"contratado.nome":              "/contrato/contratado/nome",
	"valorGlobal":                  "/contrato/valorGlobal",
	"dataAssinatura":               "/contrato/dataAssinatura",
	"dataInicioVigencia":           "/contrato/vigencia/inicio",
	"dataFimVigencia":              "/contrato/vigencia/fim",
	"modalidadeLicitacao":          "/contrato/modalidadeLicitacao",
	"numeroProcessoAdministrativo": "/contrato/numeroProcessoAdministrativo",
	"fundamentoLegal":              "/contrato/fundamentoLegal",
}

// rejected is a CidadES validation answer with its fields named as the event names them. It wraps the client's
// error, so the dead letter still shows target, status and excerpt.
type rejected struct {
	err   error
	pairs [][2]string
}

func (r *rejected) Error() string           { return r.err.Error() }
func (r *rejected) Unwrap() error           { return r.err }
func (r *rejected) FieldPairs() [][2]string { return r.pairs }

// withEventFields returns err with the fields of a CidadES validation answer, if it is one.
func withEventFields(err error) error {
	var pe *cidades.ProblemError
	if !errors.As(err, &pe) || len(pe.FieldNames()) == 0 {
		return err
	}
	r := &rejected{err: err}
	for _, f := range pe.FieldNames() {
		ptr, ok := cidadesFields[f]
		if !ok {
			ptr = "/contrato/" + strings.ReplaceAll(f, ".", "/")
		}
		for _, msg := range pe.FieldErrors(f) {
			r.pairs = append(r.pairs, [2]string{ptr, "CidadES: " + msg})
		}
	}
	return r
}

package clients

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ExcerptLimit is the maximum length in bytes of a response excerpt kept in errors and dead letters.
const ExcerptLimit = 512

// secretNames are the names of fields whose value is a credential, matched in any casing.
const secretNames = `[a-z_]*token|access_?token|refresh_?token|temporary_?token|jsontoken|client_?secret|secret|password|senha|access_?key|authorization`

var (
	// secretField matches a JSON string field whose name is a secret name, with its value; a value cut off by the
	// end of the text (a truncated body) matches too.
	secretField = regexp.MustCompile(`(?i)("(?:` + secretNames + `)"\s*:\s*)"((?:[^"\\]|\\.)*)(?:"|\\?$)`)
	// secretName matches a whole secret name, for form and query fields.
	secretName = regexp.MustCompile(`(?i)^(?:` + secretNames + `)$`)
	// cpfLike matches an 11-digit CPF, punctuated or not, standing alone.
	cpfLike = regexp.MustCompile(`\b(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})\b`)
	// emailLike matches an e-mail address: its local part's first character, and its domain.
	emailLike = regexp.MustCompile(`([\p{L}\p{N}])[\p{L}\p{N}._%+'-]*@([\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)`)
)

// Redacted is what Redact puts in place of a credential.
const Redacted = "[REDACTED]"

// Excerpt returns a short, single-line, redacted excerpt of a response body, safe for logs, errors and dead
// letters: credential fields are replaced by "[REDACTED]", CPF numbers are masked, and the result is cut to
// ExcerptLimit bytes on a rune boundary.
func Excerpt(body []byte) string {
	s := Redact(string(body))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > ExcerptLimit {
		cut := ExcerptLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Redact replaces the values of credential fields in a JSON text with "[REDACTED]" and masks CPF numbers.
func Redact(s string) string {
	return MaskCPF(RedactSecrets(s, func(string) string { return Redacted }))
}

// RedactSecrets replaces the value of every JSON string field of s named like a credential (token, secret,
// password, senha, accessKey, authorization, ... in any casing) with mask(value), value unescaped. A value cut
// off by the end of s is replaced too, so a truncated body leaks no part of a secret. The rest of s is unchanged.
func RedactSecrets(s string, mask func(value string) string) string {
	return secretField.ReplaceAllStringFunc(s, func(m string) string {
		sub := secretField.FindStringSubmatch(m)
		var value string
		if json.Unmarshal([]byte(`"`+sub[2]+`"`), &value) != nil {
			value = sub[2]
		}
		var masked strings.Builder
		enc := json.NewEncoder(&masked)
		enc.SetEscapeHTML(false)
		enc.Encode(mask(value)) //nolint:errcheck // a string always encodes
		return sub[1] + strings.TrimSuffix(masked.String(), "\n")
	})
}

// RedactForm replaces the value of every field of a form-encoded text (a request body or a query string) named
// like a credential (client_secret, password, access_token, ...; see RedactSecrets) with mask(value), value
// unescaped. The other fields, their order and their encoding are unchanged.
func RedactForm(s string, mask func(value string) string) string {
	parts := strings.Split(s, "&")
	for i, part := range parts {
		key, value, ok := strings.Cut(part, "=")
		name, err := url.QueryUnescape(key)
		if !ok || err != nil || !secretName.MatchString(name) {
			continue
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		parts[i] = key + "=" + url.QueryEscape(mask(value))
	}
	return strings.Join(parts, "&")
}

// MaskCPF masks every CPF number in s, keeping only the first three and the last two digits:
// "529.982.247-25" and "52998224725" both become "529.***.***-25". Use it on anything written to logs.
func MaskCPF(s string) string {
	return cpfLike.ReplaceAllString(s, "$1.***.***-$4")
}

// MaskEmail masks the local part of every e-mail address in s but its first character, and keeps the domain:
// "ana.souza@example.com" becomes "a***@example.com".
func MaskEmail(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailLike.ReplaceAllString(s, "$1***@$2")
}

// MaskPersonal masks the personal data ponte's logs could carry: CPF numbers (MaskCPF) and e-mail addresses
// (MaskEmail). A text with fewer than 11 digits and no "@" (most log values: ids, counts, names) is returned
// without running either expression.
func MaskPersonal(s string) string {
	digits := 0
	for i := 0; i < len(s) && digits < 11; i++ {
		if '0' <= s[i] && s[i] <= '9' {
			digits++
		}
	}
	if digits == 11 {
		s = MaskCPF(s)
	}
	return MaskEmail(s)
}

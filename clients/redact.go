package clients

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// ExcerptLimit is the maximum length in bytes of a response excerpt kept in errors and dead letters.
const ExcerptLimit = 512

var (
	// secretField matches JSON string fields whose value is a credential, in any casing.
	secretField = regexp.MustCompile(`(?i)("(?:[a-z_]*token|access_?token|refresh_?token|temporary_?token|jsontoken|client_?secret|secret|password|senha|access_?key|authorization)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	// cpfLike matches an 11-digit CPF, punctuated or not, standing alone.
	cpfLike = regexp.MustCompile(`\b(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})\b`)
)

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
	s = secretField.ReplaceAllString(s, `$1"[REDACTED]"`)
	return MaskCPF(s)
}

// MaskCPF masks every CPF number in s, keeping only the first three and the last two digits:
// "529.982.247-25" and "52998224725" both become "529.***.***-25". Use it on anything written to logs.
func MaskCPF(s string) string {
	return cpfLike.ReplaceAllString(s, "$1.***.***-$4")
}

package schemas

import "strings"

// Digits returns s with every character other than the ASCII digits 0-9 removed:
// Digits("529.982.247-25") is "52998224725". Use it to send CPF and CNPJ numbers downstream as digits only.
func Digits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// ValidCPF reports whether s is a valid CPF (Cadastro de Pessoas Físicas) number: exactly 11 digits once the
// punctuation characters '.' and '-' are removed (so both "52998224725" and "529.982.247-25" are accepted), not all
// the same digit, with both check digits correct. Any other character makes it invalid.
func ValidCPF(s string) bool {
	d, ok := strip(s, ".-", 11)
	if !ok || sameDigits(d) {
		return false
	}
	return d[9] == checkDigit(d[:9], 11) && d[10] == checkDigit(d[:10], 11)
}

// ValidCNPJ reports whether s is a valid CNPJ (Cadastro Nacional da Pessoa Jurídica) number: exactly 14 digits once
// the punctuation characters '.', '/' and '-' are removed (so both "11222333000181" and "11.222.333/0001-81" are
// accepted), not all the same digit, with both check digits correct. Any other character makes it invalid; the
// alphanumeric CNPJ introduced by the Receita Federal in 2026 is not accepted yet.
func ValidCNPJ(s string) bool {
	d, ok := strip(s, "./-", 14)
	if !ok || sameDigits(d) {
		return false
	}
	return d[12] == checkDigit(d[:12], 9) && d[13] == checkDigit(d[:13], 9)
}

// checkDigit returns the modulo-11 check digit of digits. Weights run from 2 at the rightmost digit upwards and go
// back to 2 after maxWeight: CPF uses maxWeight 11 (it never wraps), CNPJ uses 9.
func checkDigit(digits []byte, maxWeight int) byte {
	sum, w := 0, 2
	for i := len(digits) - 1; i >= 0; i-- {
		sum += int(digits[i]-'0') * w
		if w++; w > maxWeight {
			w = 2
		}
	}
	r := sum % 11
	if r < 2 {
		return '0'
	}
	return byte('0' + 11 - r)
}

// strip removes the characters in punct from s and reports whether what is left is exactly n ASCII digits.
func strip(s, punct string, n int) ([]byte, bool) {
	d := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(d) == n {
				return nil, false
			}
			d = append(d, c)
		case strings.IndexByte(punct, c) >= 0:
		default:
			return nil, false
		}
	}
	return d, len(d) == n
}

func sameDigits(d []byte) bool {
	for _, c := range d[1:] {
		if c != d[0] {
			return false
		}
	}
	return true
}

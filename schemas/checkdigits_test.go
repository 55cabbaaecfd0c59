package schemas

import "testing"

func TestDigits(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"529.982.247-25", "52998224725"},
		{"11.222.333/0001-81", "11222333000181"},
		{"  12a3 ", "123"},
		{"", ""},
		{"abc", ""},
		{"٣٤", ""}, // Arabic-Indic digits are not ASCII digits
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Digits(tt.in); got != tt.want {
				t.Errorf("Digits(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidCPF(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"punctuated", "529.982.247-25", true},
		{"bare", "52998224725", true},
		{"second example", "111.444.777-35", true},
		{"first check digit 0", "390.533.447-05", true},
		{"hyphen only", "529982247-25", true},
		{"wrong second check digit", "529.982.247-24", false},
		{"wrong first check digit", "529.982.247-35", false},
		{"both check digits wrong", "123.456.789-00", false},
		{"digits swapped", "259.982.247-25", false},
		{"all zeros", "000.000.000-00", false},
		{"all ones (check digits match)", "111.111.111-11", false},
		{"ten digits", "5299822472", false},
		{"twelve digits", "529982247250", false},
		{"space", "529 982 247 25", false},
		{"slash is not CPF punctuation", "529.982.247/25", false},
		{"letter", "529.982.247-2X", false},
		{"empty", "", false},
		{"punctuation only", "...-", false},
		{"a CNPJ", "11.222.333/0001-81", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidCPF(tt.in); got != tt.want {
				t.Errorf("ValidCPF(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidCNPJ(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"punctuated", "11.222.333/0001-81", true},
		{"bare", "11222333000181", true},
		{"second example", "11.444.777/0001-61", true},
		{"branch 0002", "11.222.333/0002-62", true},
		{"wrong second check digit", "11.222.333/0001-80", false},
		{"wrong first check digit", "11.222.333/0001-91", false},
		{"branch changed, check digits not", "11.222.333/0002-81", false},
		{"all zeros", "00.000.000/0000-00", false},
		{"all ones", "11.111.111/1111-11", false},
		{"thirteen digits", "1122233300018", false},
		{"fifteen digits", "112223330001810", false},
		{"space", "11 222 333 0001 81", false},
		{"alphanumeric CNPJ (not supported yet)", "12.ABC.345/01DE-35", false},
		{"empty", "", false},
		{"a CPF", "529.982.247-25", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidCNPJ(tt.in); got != tt.want {
				t.Errorf("ValidCNPJ(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestCheckDigitsAgainstReference compares ValidCPF and ValidCNPJ with a direct transcription of the Receita
// Federal rule (weighted sum, remainder below 2 gives 0, else 11 minus the remainder) over many numbers.
func TestCheckDigitsAgainstReference(t *testing.T) {
	ref := func(base string, weights []int) byte {
		sum := 0
		for i, w := range weights {
			sum += int(base[i]-'0') * w
		}
		if r := sum % 11; r >= 2 {
			return byte('0' + 11 - r)
		}
		return '0'
	}
	cpf1 := []int{10, 9, 8, 7, 6, 5, 4, 3, 2}
	cpf2 := []int{11, 10, 9, 8, 7, 6, 5, 4, 3, 2}
	cnpj1 := []int{5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}
	cnpj2 := []int{6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2}

	seed := uint64(0x9e3779b97f4a7c15)
	next := func(n int) string { // a deterministic pseudo-random string of n digits
		b := make([]byte, n)
		for i := range b {
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			b[i] = byte('0' + seed%10)
		}
		return string(b)
	}
	for range 2000 {
		base := next(9)
		d1 := ref(base, cpf1)
		d2 := ref(base+string(d1), cpf2)
		cpf := base + string(d1) + string(d2)
		if got, want := ValidCPF(cpf), !sameDigits([]byte(cpf)); got != want {
			t.Fatalf("ValidCPF(%q) = %v, want %v", cpf, got, want)
		}
		bad := base + string(d1) + string('0'+(d2-'0'+1)%10)
		if ValidCPF(bad) {
			t.Fatalf("ValidCPF(%q) = true for a wrong check digit", bad)
		}

		base = next(12)
		d1 = ref(base, cnpj1)
		d2 = ref(base+string(d1), cnpj2)
		cnpj := base + string(d1) + string(d2)
		if got, want := ValidCNPJ(cnpj), !sameDigits([]byte(cnpj)); got != want {
			t.Fatalf("ValidCNPJ(%q) = %v, want %v", cnpj, got, want)
		}
		bad = base + string('0'+(d1-'0'+1)%10) + string(d2)
		if ValidCNPJ(bad) {
			t.Fatalf("ValidCNPJ(%q) = true for a wrong check digit", bad)
		}
	}
}

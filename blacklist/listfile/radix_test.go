package listfile

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() uint64
		n    int
	}{
		{"small", func() uint64 { return r.Uint64N(100) }, 10},
		{"phone numbers", func() uint64 { return 5511900000000 + r.Uint64N(99999999) }, 100000},
		{"few distinct", func() uint64 { return 5511900000000 + r.Uint64N(3) }, 5000},
		{"all equal", func() uint64 { return 42 }, 5000},
		{"full range", r.Uint64, 50000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := make([]uint64, tt.n)
			for i := range a {
				a[i] = tt.gen()
			}
			want := slices.Sorted(slices.Values(a))
			radixSort(a, make([]uint64, len(a)))
			if !slices.Equal(a, want) {
				t.Errorf("not sorted")
			}
		})
	}
}

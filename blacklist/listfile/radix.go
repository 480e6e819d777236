package listfile

import (
	"math/bits"
	"slices"
)

// radixSort sorts a, using scratch (at least as long) as room: a least
// significant digit radix sort of 11-bit digits over the bits in which the
// values differ, about four passes for phone numbers, several times faster
// than a comparison sort on the millions of numbers of a compact import.
func radixSort(a, scratch []uint64) {
	if len(a) < 1024 {
		slices.Sort(a)
		return
	}
	lo, hi := a[0], a[0]
	for _, v := range a {
		lo, hi = min(lo, v), max(hi, v)
	}
	const digit = 11
	const mask = 1<<digit - 1
	src, dst := a, scratch[:len(a)]
	for shift := 0; shift < bits.Len64(hi-lo); shift += digit {
		var count [1 << digit]int
		for _, v := range src {
			count[(v-lo)>>shift&mask]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, v := range src {
			d := (v - lo) >> shift & mask
			dst[count[d]] = v
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

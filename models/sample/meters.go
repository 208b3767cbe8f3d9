package sample

import (
	"cmp"
	"strconv"
)

// CompareMeters orders meter names as a reader expects them: total first,
// then by name with numbers in numeric order (outlet/2 before outlet/10).
func CompareMeters(a, b string) int {
	if a == b {
		return 0
	}
	if a == "total" {
		return -1
	}
	if b == "total" {
		return 1
	}
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

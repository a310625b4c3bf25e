package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// quantityText returns a random string from the quantity grammar (sign, integer digits with
// leading zeros, fraction, every suffix family, exponents), biased towards the parser's
// boundaries: 18 significant digits, scales around nano, int64 overflow, binary fractions.
func (g *generator) quantityText() string {
	var b strings.Builder
	switch g.pick(4) {
	case 0:
		b.WriteString("-")
	case 1:
		b.WriteString("+")
	}
	digits := func(n int) {
		for i := 0; i < n; i++ {
			b.WriteByte(byte('0' + g.pick(10)))
		}
	}
	if g.chance(0.2) {
		b.WriteString(strings.Repeat("0", 1+g.pick(3)))
	}
	digits([]int{0, 1, 1, 2, 3, 6, 9, 15, 17, 18, 19, 20, 25}[g.pick(13)])
	if g.chance(0.5) {
		b.WriteString(".")
		digits([]int{0, 1, 2, 3, 6, 9, 10, 12}[g.pick(8)])
	}
	suffixes := []string{"", "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	if g.chance(0.3) {
		e := []string{"e", "E"}[g.pick(2)]
		sign := []string{"", "+", "-"}[g.pick(3)]
		b.WriteString(fmt.Sprintf("%s%s%d", e, sign, g.pick(40)))
	} else {
		b.WriteString(suffixes[g.pick(len(suffixes))])
	}
	return b.String()
}

// timeText returns a random RFC 3339 timestamp (fractions of 1-9 digits, Z or offsets).
func (g *generator) timeText() string {
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", 1+g.pick(9998), 1+g.pick(12), 1+g.pick(28),
		g.pick(24), g.pick(60), g.pick(60))
	if g.chance(0.5) {
		s += "." + fmt.Sprintf("%09d", g.r.Int63n(1e9))[:1+g.pick(9)]
	}
	if g.chance(0.5) {
		return s + "Z"
	}
	return s + fmt.Sprintf("%s%02d:%02d", []string{"+", "-"}[g.pick(2)], g.pick(24), g.pick(60))
}

// fuzzVectors are templates packed with many random quantities or timestamps each, so that the
// two hand-transcribed Go parsers (ParseQuantity, time.Parse) meet hundreds of inputs cheaply.
// Inputs Go refuses are left out: the API server would refuse them too.
func (g *generator) fuzzVectors(n int) ([]vector, error) {
	var out []vector
	for i := 0; i < n; i++ {
		limits := map[string]string{}
		for len(limits) < 20 {
			q := g.quantityText()
			if _, err := resource.ParseQuantity(q); err == nil {
				limits[fmt.Sprintf("q%02d", len(limits))] = q
			}
		}
		var entries []map[string]interface{}
		for len(entries) < 10 {
			t := g.timeText()
			var mt metav1.Time
			if err := mt.UnmarshalJSON([]byte(`"` + t + `"`)); err == nil {
				entries = append(entries, map[string]interface{}{"manager": "m", "time": t})
			}
		}
		tpl := map[string]interface{}{
			"metadata": map[string]interface{}{"managedFields": entries},
			"spec": map[string]interface{}{"containers": []interface{}{map[string]interface{}{
				"name": "q", "resources": map[string]interface{}{"limits": limits}}}},
		}
		data, err := json.Marshal(tpl)
		if err != nil {
			return nil, err
		}
		v, err := hashVector(fmt.Sprintf("fuzz: 20 quantities and 10 timestamps #%d", i), data, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

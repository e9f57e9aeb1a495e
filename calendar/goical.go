package calendar

import (
	"sort"
	"strings"

	goical "github.com/emersion/go-ical"
)

// fromGoComponent turns a go-ical component into the builder's form. Its
// property values are still escaped as written, as the builder expects.
func fromGoComponent(c *goical.Component, depth int) *component {
	out := &component{name: strings.ToUpper(c.Name)}
	if depth > maxDepth {
		return out
	}
	names := make([]string, 0, len(c.Props))
	for name := range c.Props {
		names = append(names, name)
	}
	sort.Strings(names) // go-ical keeps properties in a map: fix an order
	for _, name := range names {
		for _, p := range c.Props[name] {
			var params map[string][]string
			if len(p.Params) > 0 {
				params = make(map[string][]string, len(p.Params))
				for k, v := range p.Params {
					params[strings.ToUpper(k)] = v
				}
			}
			out.props = append(out.props, property{name: strings.ToUpper(p.Name), params: params, value: p.Value})
			if strings.EqualFold(p.Name, "UID") {
				out.uid = unescapeText(p.Value)
			}
		}
	}
	for _, ch := range c.Children {
		out.children = append(out.children, fromGoComponent(ch, depth+1))
	}
	return out
}
